import type { LogNote } from '../server-process.js';
import type { BenchOptions, ScenarioName } from '../options.js';
import type { MachineInfo } from '../proc.js';
import { summarize, type Summary } from '../stats.js';
import { BASELINES, type SystemName } from '../systems.js';

/** One figure of the report: which scenario measures it, how to show it, and which way is better. */
export interface FigureSpec {
  readonly scenario: ScenarioName;
  readonly key: string;
  readonly label: string;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  readonly digits: number;
  /** Shown in the tables and the chart (the others are kept in the JSON only). */
  readonly main: boolean;
}

/** Figures of systems with a Redis (and PostgreSQL): the Redis commands per routed message, and the engines' share of the server CPU. */
const redis = (scenario: ScenarioName): FigureSpec[] => [
  { scenario, key: 'redisCommandsPerMessage', label: 'Redis commands per message', unit: '', better: 'lower', digits: 2, main: false },
  { scenario, key: 'redisCpuCores', label: 'redis-server CPU', unit: 'cores', better: 'lower', digits: 2, main: false },
  { scenario, key: 'postgresCpuCores', label: 'PostgreSQL backends CPU', unit: 'cores', better: 'lower', digits: 2, main: false },
];

const direct = (scenario: ScenarioName): FigureSpec[] => [
  { scenario, key: 'p50Ms', label: 'p50 at 5k msg/s', unit: 'ms', better: 'lower', digits: 2, main: true },
  { scenario, key: 'p99Ms', label: 'p99 at 5k msg/s', unit: 'ms', better: 'lower', digits: 2, main: true },
  { scenario, key: 'maxRate', label: 'highest sustained rate', unit: 'msg/s', better: 'higher', digits: 0, main: true },
  { scenario, key: 'cpuMicrosPerMessage', label: 'server CPU per message', unit: 'us', better: 'lower', digits: 1, main: true },
  { scenario, key: 'p99AtMaxMs', label: 'p99 at that rate', unit: 'ms', better: 'lower', digits: 1, main: true },
  { scenario, key: 'p50AtMaxMs', label: 'p50 at that rate', unit: 'ms', better: 'lower', digits: 2, main: false },
  { scenario, key: 'achievedRate', label: 'rate achieved in the 5k phase', unit: 'msg/s', better: 'higher', digits: 0, main: false },
  { scenario, key: 'serverCpuCores', label: 'server CPU at max rate', unit: 'cores', better: 'lower', digits: 2, main: false },
  ...redis(scenario),
  {
    scenario,
    key: 'redisCommandsPerMessageAtMax',
    label: 'Redis commands per message at the highest rate',
    unit: '',
    better: 'lower',
    digits: 2,
    main: false,
  },
];
const fanout = (scenario: ScenarioName): FigureSpec[] => [
  { scenario, key: 'deliveriesPerSecond', label: 'deliveries/s', unit: '/s', better: 'higher', digits: 0, main: true },
  { scenario, key: 'cpuMicrosPerDelivery', label: 'server CPU per delivery', unit: 'us', better: 'lower', digits: 2, main: true },
  { scenario, key: 'messagesPerSecond', label: 'messages sent/s', unit: '/s', better: 'higher', digits: 0, main: false },
  { scenario, key: 'serverCpuCores', label: 'server CPU', unit: 'cores', better: 'lower', digits: 2, main: false },
  ...redis(scenario),
];

const storm = (scenario: ScenarioName): FigureSpec[] => [
  { scenario, key: 'stormSeconds', label: 'restart until all resumed', unit: 's', better: 'lower', digits: 2, main: true },
  { scenario, key: 'cpuMicrosPerResume', label: 'server CPU per resumed client', unit: 'us', better: 'lower', digits: 0, main: true },
  { scenario, key: 'lostMessages', label: 'acked messages lost', unit: 'msgs', better: 'lower', digits: 0, main: true },
  { scenario, key: 'duplicateMessages', label: 'messages received twice', unit: 'msgs', better: 'lower', digits: 0, main: true },
  { scenario, key: 'restartSeconds', label: 'SIGTERM until the new server is ready', unit: 's', better: 'lower', digits: 2, main: false },
  { scenario, key: 'resumeSeconds', label: 'ready until all resumed', unit: 's', better: 'lower', digits: 2, main: false },
  { scenario, key: 'p50ResumedSeconds', label: 'restart until half resumed', unit: 's', better: 'lower', digits: 2, main: false },
  { scenario, key: 'attemptsPerClient', label: 'connect attempts per client', unit: '', better: 'lower', digits: 1, main: false },
];

export const FIGURES: readonly FigureSpec[] = [
  {
    scenario: 'connect',
    key: 'memoryKiBPerConnection',
    label: 'memory per connection',
    unit: 'KiB',
    better: 'lower',
    digits: 1,
    main: true,
  },
  { scenario: 'connect', key: 'connectSeconds', label: 'time to connect all', unit: 's', better: 'lower', digits: 2, main: true },
  { scenario: 'connect', key: 'cpuMicrosPerConnect', label: 'server CPU per connect', unit: 'us', better: 'lower', digits: 0, main: true },
  { scenario: 'connect', key: 'connectsPerSecond', label: 'connects/s', unit: '/s', better: 'higher', digits: 0, main: false },
  ...fanout('fanout'),
  ...direct('direct'),
  ...fanout('room'),
  ...direct('direct-text'),
  ...storm('reconnect-storm'),
];

/** The scenario whose baseline figures a scenario's ratios use (the text row compares with the baselines' direct). */
export function ratioScenario(scenario: ScenarioName): ScenarioName {
  return scenario === 'direct-text' ? 'direct' : scenario;
}

/** What one system did in one scenario of one run. */
export interface RunRecord {
  readonly run: number;
  readonly scenario: ScenarioName;
  readonly system: SystemName;
  readonly figures?: Record<string, number>;
  readonly notes: string[];
  readonly skipped?: string;
  readonly error?: string;
  readonly seconds: number;
}

export interface CellSummary {
  readonly figures: Record<string, Summary>;
  /** Per-run ratios (this system / baseline, same run), summarized; by baseline, by figure. */
  readonly ratios: Record<string, Record<string, Summary>>;
  readonly skipped?: string;
  readonly errors: string[];
  readonly notes: string[];
}

export interface TargetResult {
  /** The issue that set the target (absent in results written before issue 12: 6). */
  readonly issue?: number;
  /** The system held to it (absent in results written before issue 12: chorus-w2). */
  readonly system?: SystemName;
  readonly text: string;
  readonly figure: string;
  /** The system the figure is divided by, run by run; null when the figure itself is held to the limit. */
  readonly versus: string | null;
  readonly op: '<=' | '>=' | '>';
  readonly limit: number;
  /** The paired ratios to `versus`, summarized (null: not measured, or a target on the figure itself). */
  readonly ratio: Summary | null;
  /** For a target on the figure itself (versus null): the figure over the runs. */
  readonly value?: Summary | null;
  readonly met: boolean | null;
}

/** Whose targets the report lists: each issue's targets hold one system to them. */
export const TARGET_SETS: readonly { readonly issue: number; readonly system: SystemName }[] = [
  { issue: 6, system: 'chorus-w2' },
  { issue: 12, system: 'chorus-redis' },
];

export interface BenchResults {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly wallSeconds: number;
  readonly machine: MachineInfo;
  /** The commit the measured Chorus was built from (see sourceVersion). */
  readonly source?: string | null;
  readonly options: BenchOptions;
  readonly systems: readonly { readonly name: SystemName; readonly description: string }[];
  readonly runs: readonly RunRecord[];
  readonly summary: Partial<Record<ScenarioName, Partial<Record<SystemName, CellSummary>>>>;
  readonly targets: readonly TargetResult[];
  /** Warn/error lines the systems logged, by system. */
  readonly serverLogs: Partial<Record<SystemName, LogNote[]>>;
  /** Stops that needed SIGKILL, by system. */
  readonly uncleanStops: Partial<Record<SystemName, number>>;
}

/** Paired ratios: for every run where both have the figure, a / b. */
interface Cell {
  readonly system: SystemName;
  readonly scenario: ScenarioName;
}

export function pairedRatios(runs: readonly RunRecord[], a: Cell, b: Cell, key: string): number[] {
  const out: number[] = [];
  for (const ra of runs) {
    if (ra.system !== a.system || ra.scenario !== a.scenario) continue;
    const rb = runs.find((r) => r.run === ra.run && r.system === b.system && r.scenario === b.scenario);
    const va = ra.figures?.[key];
    const vb = rb?.figures?.[key];
    if (va !== undefined && vb !== undefined && Number.isFinite(va) && Number.isFinite(vb) && vb !== 0) out.push(va / vb);
  }
  return out;
}

export function summarizeRuns(
  runs: readonly RunRecord[],
  scenarios: readonly ScenarioName[],
  systems: readonly SystemName[],
): BenchResults['summary'] {
  const summary: BenchResults['summary'] = {};
  for (const scenario of scenarios) {
    const perSystem: Partial<Record<SystemName, CellSummary>> = {};
    for (const system of systems) {
      const records = runs.filter((r) => r.scenario === scenario && r.system === system);
      if (records.length === 0) continue;
      const figures: Record<string, Summary> = {};
      const keys = new Set(records.flatMap((r) => Object.keys(r.figures ?? {})));
      for (const key of keys) figures[key] = summarize(records.map((r) => r.figures?.[key] ?? Number.NaN));
      const ratios: Record<string, Record<string, Summary>> = {};
      for (const baseline of BASELINES) {
        if (!systems.includes(baseline)) continue;
        const byKey: Record<string, Summary> = {};
        for (const key of keys) {
          const values = pairedRatios(runs, { system, scenario }, { system: baseline, scenario: ratioScenario(scenario) }, key);
          if (values.length > 0) byKey[key] = summarize(values);
        }
        ratios[baseline] = byKey;
      }
      // Skipped only when no run measured it (a system may stop being repeated after a timeout).
      const measured = records.some((r) => r.figures !== undefined);
      const skips = [...new Set(records.flatMap((r) => (r.skipped === undefined ? [] : [r.skipped])))];
      perSystem[system] = {
        figures,
        ratios,
        ...(measured || skips.length === 0 ? {} : { skipped: skips[0]! }),
        errors: [...new Set(records.flatMap((r) => (r.error ? [r.error] : [])))],
        notes: [...new Set(records.flatMap((r) => r.notes))],
      };
    }
    summary[scenario] = perSystem;
  }
  return summary;
}

/** A target: what it says, the figure, the system it is compared with (null: none, the figure itself), and the bound. */
type TargetArgs = [text: string, scenario: ScenarioName, figure: string, versus: SystemName | null, op: TargetResult['op'], limit: number];

/**
 * The targets of issue 6 (chorus-w2 on one machine) and of issue 12
 * (chorus-redis, several nodes), evaluated on medians of paired ratios, or
 * on the median of the figure for a target with no system to compare with.
 */
export function evaluateTargets(runs: readonly RunRecord[]): TargetResult[] {
  const met = (op: TargetResult['op'], value: number, limit: number): boolean =>
    op === '<=' ? value <= limit : op === '>=' ? value >= limit : value > limit;
  const target = (issue: number, system: SystemName, ...[text, scenario, figure, versus, op, limit]: TargetArgs): TargetResult => {
    const base = { issue, system, text, figure: `${scenario}.${figure}`, versus, op, limit };
    if (versus === null) {
      const values = runs.filter((r) => r.system === system && r.scenario === scenario).map((r) => r.figures?.[figure] ?? Number.NaN);
      const value = summarize(values);
      return { ...base, ratio: null, value: value.n > 0 ? value : null, met: value.n > 0 ? met(op, value.median, limit) : null };
    }
    const values = pairedRatios(runs, { system, scenario }, { system: versus, scenario }, figure);
    const ratio = values.length > 0 ? summarize(values) : null;
    return { ...base, ratio, met: ratio === null ? null : met(op, ratio.median, limit) };
  };
  const w2 = (...args: TargetArgs): TargetResult => target(6, 'chorus-w2', ...args);
  const redis = (...args: TargetArgs): TargetResult => target(12, 'chorus-redis', ...args);
  return [
    w2('memory per idle connection <= 1.5x plain ws', 'connect', 'memoryKiBPerConnection', 'ws-relay', '<=', 1.5),
    w2('memory per idle connection <= 0.4x Socket.IO cluster', 'connect', 'memoryKiBPerConnection', 'socketio-cluster', '<=', 0.4),
    w2('direct: highest sustained rate >= 2.5x Socket.IO cluster', 'direct', 'maxRate', 'socketio-cluster', '>=', 2.5),
    w2('direct: highest sustained rate >= 0.8x plain ws', 'direct', 'maxRate', 'ws-relay', '>=', 0.8),
    w2('direct: p99 at 5k msg/s <= 0.15x Socket.IO cluster', 'direct', 'p99Ms', 'socketio-cluster', '<=', 0.15),
    w2('fanout: server CPU per delivery <= 1.0x plain ws', 'fanout', 'cpuMicrosPerDelivery', 'ws-relay', '<=', 1.0),
    w2('fanout: deliveries/s >= 1.3x Socket.IO cluster', 'fanout', 'deliveriesPerSecond', 'socketio-cluster', '>=', 1.3),
    w2('fanout: WORKERS=2 beats WORKERS=1 (deliveries/s)', 'fanout', 'deliveriesPerSecond', 'chorus-w1', '>', 1.0),
    redis('direct across nodes: highest sustained rate >= 1.5x Socket.IO on Redis', 'direct', 'maxRate', 'socketio-redis', '>=', 1.5),
    redis('direct across nodes: p99 at 5k msg/s <= 0.5x Socket.IO on Redis', 'direct', 'p99Ms', 'socketio-redis', '<=', 0.5),
    redis('fanout: server CPU per delivery <= 1.0x Socket.IO on Redis', 'fanout', 'cpuMicrosPerDelivery', 'socketio-redis', '<=', 1.0),
    redis('direct: Redis commands per private message <= 2 (at 5k msg/s)', 'direct', 'redisCommandsPerMessage', null, '<=', 2),
  ];
}
