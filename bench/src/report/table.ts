import type { ScenarioName } from '../options.js';
import type { Summary } from '../stats.js';
import { AFTER_OF, BASELINES, BEFORE_SYSTEMS } from '../systems.js';
import { summarize } from '../stats.js';
import { FIGURES, pairedRatios, TARGET_SETS, type BenchResults, type FigureSpec } from './results.js';

const SHORT: Record<string, string> = { 'ws-relay': 'x ws', 'socketio-cluster': 'x sio', 'socketio-redis': 'x sio-r' };

export const SCENARIO_TITLES: Record<ScenarioName, string> = {
  connect: 'connect: idle connections',
  fanout: 'fanout: 1 room of everyone',
  direct: 'direct: pairs split across processes',
  room: 'room: broadcasts in rooms',
  'direct-text': 'direct over the text protocol (ratios to the baselines’ JSON direct)',
  'reconnect-storm': 'reconnect storm: every client resumes after a server restart (Chorus only)',
};

function formatNumber(value: number, digits: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  const d = abs >= 1000 ? 0 : abs >= 100 ? Math.min(digits, 1) : digits;
  return value.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** `median (min–max)` of a figure. */
export function formatSummary(s: Summary | undefined, digits: number): string {
  if (!s || s.n === 0) return 'n/a';
  if (s.n === 1) return formatNumber(s.median, digits);
  return `${formatNumber(s.median, digits)} (${formatNumber(s.min, digits)}–${formatNumber(s.max, digits)})`;
}

export function formatRatio(s: Summary | undefined): string {
  if (!s || s.n === 0) return '';
  const f = (v: number) => (v >= 10 ? v.toFixed(1) : v >= 0.1 ? v.toFixed(2) : v.toPrecision(2));
  return s.n === 1 ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** One markdown table per scenario: figures with min-max, then ratios to each baseline. */
export function scenarioTables(results: BenchResults): string {
  const out: string[] = [];
  const systems = results.systems.map((s) => s.name);
  const baselines = BASELINES.filter((b) => systems.includes(b));
  for (const scenario of results.options.scenarios) {
    const cells = results.summary[scenario];
    if (!cells) continue;
    const figures = FIGURES.filter((f) => f.scenario === scenario && f.main);
    out.push(`#### ${SCENARIO_TITLES[scenario]}`, '');
    const header: string[] = ['system'];
    for (const f of figures) header.push(`${f.label} (${f.unit}, ${f.better} is better)`, ...baselines.map((b) => SHORT[b]!));
    out.push(row(header), row(header.map((_, i) => (i === 0 ? '---' : '---:'))));
    for (const system of systems) {
      const cell = cells[system];
      if (!cell) continue;
      if (cell.skipped !== undefined || Object.keys(cell.figures).length === 0) {
        const why = cell.skipped ?? cell.errors[0] ?? 'no result';
        out.push(
          row([
            system,
            `${cell.skipped !== undefined ? 'not available' : 'failed'}: ${why.replaceAll('|', '/').split('\n')[0]}`,
            ...header.slice(2).map(() => ''),
          ]),
        );
        continue;
      }
      const line: string[] = [system];
      const connected = cell.figures.connected;
      for (const f of figures) {
        if (f.key === 'connectSeconds' && connected && (cell.figures.timedOut?.max ?? 0) > 0) {
          // At least one run ran out of time: say how far it got instead of a time.
          line.push(
            `> ${results.options.connectTimeout} s (${formatNumber(connected.min, 0)} of ${formatNumber(results.options.connections, 0)} in time)`,
          );
          for (const b of baselines) line.push(system === b ? '1' : '');
          continue;
        }
        line.push(formatSummary(cell.figures[f.key], f.digits));
        for (const b of baselines) line.push(system === b ? '1' : formatRatio(cell.ratios[b]?.[f.key]));
      }
      out.push(row(line));
    }
    const notes = systems.flatMap((s) => (cells[s]?.notes ?? []).map((n) => `${s}: ${n}`));
    const errors = systems.flatMap((s) => {
      const cell = cells[s];
      if (!cell || cell.skipped !== undefined || cell.errors.length === 0) return [];
      return [`${s}: ${cell.errors.length} run(s) failed: ${cell.errors[0]!.split('\n')[0]}`];
    });
    const noise = systems.flatMap((s) => {
      const others = cells[s]?.figures.foreignCpuCores;
      return others && others.n > 0 ? [`${s} ${formatSummary(others, 2)}`] : [];
    });
    if (noise.length > 0)
      notes.push(`CPU used during the measured windows by other processes, or taken by the host (steal), in cores: ${noise.join('; ')}`);
    if (notes.length + errors.length > 0) out.push('', ...[...notes, ...errors].map((n) => `- ${n}`));
    out.push('');
  }
  return out.join('\n');
}

/**
 * With --before: for each main figure, the current build over the build before
 * the change, as the median (min-max) of the ratios paired run by run. Below 1
 * is better for a "lower is better" figure, above 1 for the others.
 */
export function beforeTable(results: BenchResults): string {
  const systems = results.systems.map((s) => s.name);
  const pairs = BEFORE_SYSTEMS.filter((b) => systems.includes(b) && systems.includes(AFTER_OF[b])).map((b) => [AFTER_OF[b], b] as const);
  if (pairs.length === 0) return '';
  const out = [row(['figure', ...pairs.map(([after, before]) => `${after} / ${before}`)]), row(['---', ...pairs.map(() => '---:')])];
  for (const f of FIGURES.filter((f) => f.main && results.options.scenarios.includes(f.scenario))) {
    const cells = pairs.map(([after, before]) => {
      const values = pairedRatios(results.runs, { system: after, scenario: f.scenario }, { system: before, scenario: f.scenario }, f.key);
      return values.length === 0 ? 'n/a' : formatRatio(summarize(values));
    });
    out.push(row([`${f.scenario}: ${f.label} (${f.better} is better)`, ...cells]));
  }
  return out.join('\n');
}

/** The target sets (issue and system) whose system ran, in the order of TARGET_SETS. */
export function targetSets(results: BenchResults): (typeof TARGET_SETS)[number][] {
  const systems = results.systems.map((s) => s.name);
  return TARGET_SETS.filter((set) => systems.includes(set.system));
}

/** One issue's targets with the measured ratio (or figure, for a target on the figure itself). */
export function targetsTable(results: BenchResults, issue: number): string {
  const set = TARGET_SETS.find((s) => s.issue === issue);
  const out = [row([`target (${set?.system ?? '?'})`, 'measured, median (min–max)', 'met?']), row(['---', '---:', '---'])];
  // Results written before issue 12 name neither issue nor system: theirs are issue 6's.
  for (const t of results.targets.filter((t) => (t.issue ?? 6) === issue)) {
    const measured = t.ratio ? `${formatRatio(t.ratio)} vs ${t.versus}` : t.value ? formatSummary(t.value, 2) : 'not measured';
    out.push(row([t.text, measured, t.met === null ? '—' : t.met ? 'met' : '**not met**']));
  }
  return out.join('\n');
}

/** Where a scenario's Redis figures come from: its windows and the suffix of their keys. */
const REDIS_WINDOWS: readonly { readonly scenario: ScenarioName; readonly suffix: string; readonly label: string }[] = [
  { scenario: 'direct', suffix: '', label: 'direct, at the fixed rate' },
  { scenario: 'direct', suffix: 'AtMax', label: 'direct, at the highest rate' },
  { scenario: 'fanout', suffix: '', label: 'fanout' },
  { scenario: 'room', suffix: '', label: 'room' },
  { scenario: 'direct-text', suffix: '', label: 'direct-text, at the fixed rate' },
  { scenario: 'direct-text', suffix: 'AtMax', label: 'direct-text, at the highest rate' },
];

/**
 * Redis commands per routed message (direct: per message delivered; fanout
 * and room: per broadcast sent, however many receive it), from the system's redis-server's `INFO commandstats` before and
 * after each measured window: in all and by command (medians), with the CPU
 * of redis-server and of the PostgreSQL backends. Empty when no system has a Redis.
 */
export function redisTable(results: BenchResults): string {
  const out = [
    row([
      'window',
      'system',
      'Redis commands per message',
      'by command (median per message)',
      'redis-server CPU (cores)',
      'PostgreSQL backends CPU (cores)',
    ]),
    row(['---', '---', '---:', '---', '---:', '---:']),
  ];
  const systems = results.systems.map((s) => s.name);
  for (const w of REDIS_WINDOWS) {
    if (!results.options.scenarios.includes(w.scenario)) continue;
    for (const system of systems) {
      const figures = results.summary[w.scenario]?.[system]?.figures;
      const total = figures?.[`redisCommandsPerMessage${w.suffix}`];
      if (!figures || !total || total.n === 0) continue;
      const commands = Object.entries(figures)
        .map(([key, s]) => [/^redis\.([^A-Z]+)(.*)$/.exec(key), s] as const)
        .filter(([m, s]) => m !== null && m[2] === w.suffix && s.n > 0)
        .sort(([, a], [, b]) => b.median - a.median);
      // Commands called less than once per 200 messages (leases, presence) are counted, not listed.
      const listed = commands.filter(([, s]) => s.median >= 0.005).map(([m, s]) => `${m![1]} ${formatNumber(s.median, 2)}`);
      const rare = commands.length - listed.length;
      const byCommand = rare > 0 ? [...listed, `${rare} other${rare === 1 ? '' : 's'} < 0.01`] : listed;
      const cpu = (name: string): string => formatSummary(figures[`${name}${w.suffix}`], 2);
      out.push(row([w.label, system, formatSummary(total, 2), byCommand.join(', ') || '—', cpu('redisCpuCores'), cpu('postgresCpuCores')]));
    }
  }
  return out.length > 2 ? out.join('\n') : '';
}

/** Figures for which every system has a ratio to ws-relay (for the chart). */
export function chartFigures(results: BenchResults): FigureSpec[] {
  return FIGURES.filter((f) => f.main && results.options.scenarios.includes(f.scenario) && f.key !== 'p50AtMaxMs');
}
