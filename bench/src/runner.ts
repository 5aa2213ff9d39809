import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import type { GeneratorPool } from './load/pool.js';
import type { BenchOptions, ScenarioName } from './options.js';
import { machineInfo, sourceVersion } from './proc.js';
import { evaluateTargets, FIGURES, summarizeRuns, type BenchResults, type RunRecord } from './report/results.js';
import { formatSummary } from './report/table.js';
import { NotAvailable, SCENARIOS, Session, type Outcome } from './scenarios/index.js';
import { RunningSystem, type LogNote } from './server-process.js';
import { summarize } from './stats.js';
import type { Status } from './status.js';
import { ROOT, systemSpec, type SystemName, type SystemSpec } from './systems.js';

interface MeasuredWindow {
  readonly scenario: ScenarioName;
  readonly label: string;
  readonly startUs: number;
  readonly endUs: number;
}

/**
 * Runs the bench: for each run, for each group of scenarios, every system in
 * turn (A B C D, A B C D, ...). Consecutive 'shared' scenarios run on one start
 * of a system and one set of clients; a 'fresh' scenario gets a start of its own.
 */
export class Runner {
  readonly #options: BenchOptions;
  readonly #pool: GeneratorPool;
  readonly #status: Status;
  readonly #specs: SystemSpec[];
  readonly #runs: RunRecord[] = [];
  /** Scenario/system pairs not to measure again, and why (no rooms, timed out, ...). */
  readonly #unavailable = new Map<string, string>();
  readonly #logs = new Map<SystemName, Map<string, LogNote>>();
  readonly #uncleanStops: Partial<Record<SystemName, number>> = {};
  /** What Chorus was built from, read when the run starts (when its build is copied). */
  readonly #source: string | null;

  constructor(options: BenchOptions, pool: GeneratorPool, status: Status, chorusEntry: string) {
    this.#options = options;
    this.#pool = pool;
    this.#status = status;
    const maxClients = Math.max(100_000, options.connections * 2);
    this.#specs = options.systems.map((name) => systemSpec(name, maxClients, chorusEntry, options.beforeEntry));
    this.#source = options.chorusEntry === join(ROOT, 'apps/server/dist/main.js') ? sourceVersion(ROOT) : `--chorus ${options.chorusEntry}`;
  }

  async run(): Promise<BenchResults> {
    const options = this.#options;
    const started = new Date();
    const t0 = performance.now();
    this.#status.log(
      `bench: ${options.runs} run(s) of ${options.scenarios.join(', ')} on ${options.systems.join(', ')}; ` +
        `${options.generators} load generators; results in ${relative(process.cwd(), options.outDir) || '.'}`,
    );
    if (options.cpuProfDir !== null) {
      this.#status.log(
        `bench: profiling every system into ${options.cpuProfDir} (the profiler slows them: figures are not comparable, docs/ is left alone)`,
      );
    }
    const groups: ScenarioName[][] = [];
    for (const name of options.scenarios) {
      const last = groups.at(-1);
      if (last && SCENARIOS[name].start === 'shared' && SCENARIOS[last[0]!].start === 'shared') last.push(name);
      else groups.push([name]);
    }
    for (let run = 1; run <= options.runs; run++) {
      for (const group of groups) {
        for (const spec of this.#specs) await this.#runGroup(run, group, spec);
      }
    }
    return {
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      wallSeconds: Math.round((performance.now() - t0) / 1000),
      machine: machineInfo(availableParallelism()),
      source: this.#source,
      options,
      systems: this.#specs.map((s) => ({ name: s.name, description: s.description })),
      runs: this.#runs,
      summary: summarizeRuns(this.#runs, options.scenarios, options.systems),
      targets: evaluateTargets(this.#runs),
      serverLogs: Object.fromEntries([...this.#logs].filter(([, m]) => m.size > 0).map(([system, m]) => [system, [...m.values()]])),
      uncleanStops: this.#uncleanStops,
    };
  }

  /** One start of `spec` for the scenarios of `group` that apply to it. */
  async #runGroup(run: number, group: readonly ScenarioName[], spec: SystemSpec): Promise<void> {
    const todo: ScenarioName[] = [];
    for (const name of group) {
      const skipped = SCENARIOS[name].notApplicable(spec) ?? this.#unavailable.get(`${name}/${spec.name}`);
      if (skipped === undefined) todo.push(name);
      else this.#record({ run, scenario: name, system: spec.name, notes: [], skipped, seconds: 0 });
    }
    if (todo.length === 0) return;
    const step = `run ${run}/${this.#options.runs} · ${todo.join('+')} · ${spec.name}`;
    this.#status.step(step);
    this.#status.detail('starting');
    const profileDir =
      this.#options.cpuProfDir === null ? null : join(this.#options.cpuProfDir, `run${run}-${todo.join('+')}-${spec.name}`);
    let system: RunningSystem | null = null;
    let startError = '';
    try {
      system = await RunningSystem.start(spec, profileDir, {
        postgresUrl: this.#options.postgresUrl,
        redisServer: this.#options.redisServer,
      });
    } catch (err) {
      startError = (err as Error).message;
    }
    const session = new Session(SCENARIOS[todo[0]!].protocol(spec));
    const windows: MeasuredWindow[] = [];
    for (const name of todo) {
      const began = performance.now();
      const seconds = (): number => Math.round((performance.now() - began) / 100) / 10;
      const base = { run, scenario: name, system: spec.name, notes: [] as string[] };
      if (system === null || !system.running) {
        const error = system === null ? startError : `${spec.name} exited during an earlier scenario\n${system.stderrTail}`;
        this.#record({ ...base, error, seconds: seconds() });
        continue;
      }
      this.#status.step(`run ${run}/${this.#options.runs} · ${name} · ${spec.name}`);
      const onWindow = (label: string, startUs: number, endUs: number): void =>
        void windows.push({ scenario: name, label, startUs, endUs });
      let outcome: Outcome;
      try {
        outcome = await SCENARIOS[name].run({ system, pool: this.#pool, options: this.#options, status: this.#status, session, onWindow });
      } catch (err) {
        await this.#pool.all({ type: 'stop', drainMs: 0 }, 10_000).catch(() => {});
        if (err instanceof NotAvailable) {
          this.#unavailable.set(`${name}/${spec.name}`, err.message);
          this.#record({ ...base, skipped: err.message, seconds: seconds() });
        } else {
          const tail = system.running ? '' : `\n${system.stderrTail}`;
          this.#record({ ...base, error: `${(err as Error).message}${tail}`, seconds: seconds() });
        }
        continue;
      }
      if ('skipped' in outcome) {
        this.#record({ ...base, skipped: outcome.skipped, seconds: seconds() });
        continue;
      }
      if (outcome.dontRepeat !== undefined) this.#unavailable.set(`${name}/${spec.name}`, outcome.dontRepeat);
      this.#record({ ...base, figures: outcome.figures, notes: outcome.notes, seconds: seconds() });
    }
    this.#status.step(step);
    this.#status.detail('stopping');
    await this.#pool.closeClients().catch(() => {});
    if (system) await this.#stop(system);
    if (profileDir !== null) {
      // The measured windows, so that profile-summary can cut the profiles to them.
      mkdirSync(profileDir, { recursive: true });
      writeFileSync(join(profileDir, 'windows.json'), `${JSON.stringify(windows, null, 2)}\n`);
    }
  }

  /** Stops a system and keeps what it logged. */
  async #stop(system: RunningSystem): Promise<void> {
    const name = system.spec.name;
    if (!(await system.stop())) this.#uncleanStops[name] = (this.#uncleanStops[name] ?? 0) + 1;
    const seen = this.#logs.get(name) ?? new Map<string, LogNote>();
    for (const note of system.notes) {
      const prior = seen.get(`${note.level}:${note.msg}`);
      if (prior) prior.count += note.count;
      else seen.set(`${note.level}:${note.msg}`, { ...note });
    }
    this.#logs.set(name, seen);
  }

  #record(r: RunRecord): void {
    this.#runs.push(r);
    if (r.seconds > 0 || r.error !== undefined) {
      this.#status.log(
        `run ${r.run}/${this.#options.runs} ${r.scenario.padEnd(11)} ${r.system.padEnd(16)} ${describe(r)} (${r.seconds} s)`,
      );
    }
  }
}

/** One line for a finished measurement. */
function describe(record: RunRecord): string {
  if (record.skipped !== undefined) return `not available: ${record.skipped}`;
  if (record.error !== undefined) return `FAILED: ${record.error.split('\n')[0]}`;
  const notes = record.notes.length > 0 ? ` [${record.notes.length} note${record.notes.length === 1 ? '' : 's'}]` : '';
  const others = record.figures?.foreignCpuCores ?? 0;
  const noise = others >= 0.25 ? ` · other processes or the host (steal) used ${others.toFixed(2)} cores` : '';
  return (
    FIGURES.filter((f) => f.scenario === record.scenario && f.main)
      .map((f) => `${f.label} ${formatSummary(summarize([record.figures?.[f.key] ?? Number.NaN]), f.digits)} ${f.unit}`)
      .join(', ') +
    notes +
    noise
  );
}
