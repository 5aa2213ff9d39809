/**
 * `npm run bench`: starts each system in turn, drives it with the load
 * generators through every scenario, N interleaved runs (for each run, for each
 * scenario: A B C D), then writes the JSON results, the tables (stdout and
 * docs/performance.md) and the chart (docs/performance.svg).
 *
 * Every system is started fresh for each scenario (port 0, an empty working
 * directory) and stopped after it, so that a scenario's memory and CPU are its
 * own. Servers and generators are stopped at the end, on error and on Ctrl-C.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { GeneratorPool } from './load/pool.js';
import { DOCS_DIR, HELP, parseOptions, type BenchOptions, type ScenarioName } from './options.js';
import { machineInfo } from './proc.js';
import { writeReport, renderReport } from './report/docs.js';
import { evaluateTargets, FIGURES, summarizeRuns, type BenchResults, type RunRecord } from './report/results.js';
import { renderSvg } from './report/svg.js';
import { formatSummary, scenarioTables, targetsTable } from './report/table.js';
import { NotAvailable, SCENARIOS, Session, type Outcome } from './scenarios/index.js';
import { killAllSystems, RunningSystem, type LogNote } from './server-process.js';
import { snapshotChorus } from './snapshot.js';
import { Status } from './status.js';
import { summarize } from './stats.js';
import { ROOT, systemSpec, type SystemName } from './systems.js';

const REQUIRED_BUILDS = ['bench/dist/baselines/ws-relay.js', 'bench/dist/baselines/socketio-cluster.js'];

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const options = parsed;
  if (options.fromJson !== null) {
    const saved = JSON.parse(readFileSync(options.fromJson, 'utf8')) as BenchResults;
    report(saved, options, false);
    return 0;
  }
  const missing = [options.chorusEntry, ...REQUIRED_BUILDS.map((p) => join(ROOT, p))].filter((p) => !existsSync(p)).map((p) => relative(ROOT, p));
  if (missing.length > 0) {
    process.stderr.write(`bench: ${missing.join(', ')} missing: run \`npm run build\` first (npm run bench does)\n`);
    return 2;
  }

  const status = new Status();
  const snapshot = options.systems.some((s) => s.startsWith('chorus')) ? snapshotChorus(options.chorusEntry) : null;
  const pool = new GeneratorPool(options.generators);
  const stopEverything = (): void => {
    status.done();
    killAllSystems();
    pool.kill();
    snapshot?.dispose();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopEverything();
      process.stderr.write(`\nbench: interrupted (${signal}); every server and load generator was stopped\n`);
      process.exit(130);
    });
  }

  try {
    const results = await runAll(options, pool, status, snapshot?.entry ?? options.chorusEntry);
    status.done();
    report(results, options);
    const failed = results.runs.filter((r) => r.error !== undefined).length;
    if (failed > 0) process.stderr.write(`bench: ${failed} measurement(s) failed; see the notes under the tables\n`);
    return failed > 0 ? 1 : 0;
  } finally {
    stopEverything();
  }
}

async function runAll(options: BenchOptions, pool: GeneratorPool, status: Status, chorusEntry: string): Promise<BenchResults> {
  const started = new Date();
  const t0 = performance.now();
  const maxClients = Math.max(100_000, options.connections * 2);
  const specs = options.systems.map((name) => systemSpec(name, maxClients, chorusEntry));
  const runs: RunRecord[] = [];
  const unavailable = new Map<string, string>();
  const logs = new Map<SystemName, Map<string, LogNote>>();
  const uncleanStops: Partial<Record<SystemName, number>> = {};
  status.log(
    `bench: ${options.runs} run(s) of ${options.scenarios.join(', ')} on ${options.systems.join(', ')}; ` +
      `${options.generators} load generators; results in ${relative(process.cwd(), options.outDir) || '.'}`,
  );
  if (options.cpuProfDir !== null) status.log(`bench: profiling every system into ${options.cpuProfDir} (the profiler slows them: figures are not comparable, docs/ is left alone)`);

  // Consecutive 'shared' scenarios run on one start of the system; 'fresh' ones alone.
  const groups: ScenarioName[][] = [];
  for (const name of options.scenarios) {
    const last = groups.at(-1);
    if (last && SCENARIOS[name].start === 'shared' && SCENARIOS[last[0]!].start === 'shared') last.push(name);
    else groups.push([name]);
  }
  const record = (r: RunRecord): void => {
    runs.push(r);
    if (r.seconds > 0 || r.error !== undefined) {
      status.log(`run ${r.run}/${options.runs} ${r.scenario.padEnd(11)} ${r.system.padEnd(16)} ${describe(r)} (${r.seconds} s)`);
    }
  };

  for (let run = 1; run <= options.runs; run++) {
    for (const group of groups) {
      for (const spec of specs) {
        const todo: ScenarioName[] = [];
        for (const name of group) {
          const skipped = SCENARIOS[name].notApplicable(spec) ?? unavailable.get(`${name}/${spec.name}`);
          if (skipped === undefined) todo.push(name);
          else record({ run, scenario: name, system: spec.name, notes: [], skipped, seconds: 0 });
        }
        if (todo.length === 0) continue;
        status.step(`run ${run}/${options.runs} · ${todo.join('+')} · ${spec.name}`);
        status.detail('starting');
        let system: RunningSystem | null = null;
        let startError: string | null = null;
        let profileDir: string | null = null;
        try {
          const profDir = options.cpuProfDir === null ? null : join(options.cpuProfDir, `run${run}-${todo.join('+')}-${spec.name}`);
          system = await RunningSystem.start(spec, profDir);
          profileDir = profDir;
        } catch (err) {
          startError = (err as Error).message;
        }
        const session = new Session(SCENARIOS[todo[0]!].protocol(spec));
        const windows: { scenario: ScenarioName; label: string; startUs: number; endUs: number }[] = [];
        for (const name of todo) {
          const began = performance.now();
          const seconds = (): number => Math.round((performance.now() - began) / 100) / 10;
          if (system === null || !system.running) {
            const error = startError ?? `${spec.name} exited during an earlier scenario\n${system?.stderrTail ?? ''}`;
            record({ run, scenario: name, system: spec.name, notes: [], error, seconds: seconds() });
            continue;
          }
          status.step(`run ${run}/${options.runs} · ${name} · ${spec.name}`);
          let outcome: Outcome;
          try {
            const onWindow = (label: string, startUs: number, endUs: number): void => void windows.push({ scenario: name, label, startUs, endUs });
            outcome = await SCENARIOS[name].run({ system, pool, options, status, session, onWindow });
          } catch (err) {
            await pool.all({ type: 'stop', drainMs: 0 }, 10_000).catch(() => {});
            if (err instanceof NotAvailable) {
              unavailable.set(`${name}/${spec.name}`, err.message);
              record({ run, scenario: name, system: spec.name, notes: [], skipped: err.message, seconds: seconds() });
            } else {
              const tail = system.running ? '' : `\n${system.stderrTail}`;
              record({ run, scenario: name, system: spec.name, notes: [], error: `${(err as Error).message}${tail}`, seconds: seconds() });
            }
            continue;
          }
          if ('skipped' in outcome) {
            record({ run, scenario: name, system: spec.name, notes: [], skipped: outcome.skipped, seconds: seconds() });
            continue;
          }
          if (outcome.dontRepeat !== undefined) unavailable.set(`${name}/${spec.name}`, outcome.dontRepeat);
          record({ run, scenario: name, system: spec.name, figures: outcome.figures, notes: outcome.notes, seconds: seconds() });
        }
        status.step(`run ${run}/${options.runs} · ${todo.join('+')} · ${spec.name}`);
        status.detail('stopping');
        await pool.closeClients().catch(() => {});
        if (system) {
          if (!(await system.stop())) uncleanStops[spec.name] = (uncleanStops[spec.name] ?? 0) + 1;
          const seen = logs.get(spec.name) ?? new Map<string, LogNote>();
          for (const note of system.notes) {
            const prior = seen.get(`${note.level}:${note.msg}`);
            if (prior) prior.count += note.count;
            else seen.set(`${note.level}:${note.msg}`, { ...note });
          }
          logs.set(spec.name, seen);
        }
        // The measured windows, so that profile-summary can cut the profiles to them.
        if (profileDir !== null) mkdirSync(profileDir, { recursive: true });
        if (profileDir !== null) writeFileSync(join(profileDir, 'windows.json'), `${JSON.stringify(windows, null, 2)}\n`);
      }
    }
  }

  const finished = new Date();
  return {
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    wallSeconds: Math.round((performance.now() - t0) / 1000),
    machine: machineInfo(availableParallelism()),
    options,
    systems: specs.map((s) => ({ name: s.name, description: s.description })),
    runs,
    summary: summarizeRuns(runs, options.scenarios, options.systems),
    targets: evaluateTargets(runs),
    serverLogs: Object.fromEntries([...logs].filter(([, m]) => m.size > 0).map(([system, m]) => [system, [...m.values()]])),
    uncleanStops,
  };
}

/** One line for a finished measurement. */
function describe(record: RunRecord): string {
  if (record.skipped !== undefined) return `not available: ${record.skipped}`;
  if (record.error !== undefined) return `FAILED: ${record.error.split('\n')[0]}`;
  const figures = FIGURES.filter((f) => f.scenario === (record.scenario as ScenarioName) && f.main);
  return figures
    .map((f) => `${f.label} ${formatSummary(summarize([record.figures?.[f.key] ?? Number.NaN]), f.digits)} ${f.unit}`)
    .join(', ');
}

/** Writes the JSON (unless re-rendering a saved one), the chart, the report and docs; prints the tables. */
function report(results: BenchResults, options: BenchOptions, writeJson = true): void {
  mkdirSync(options.outDir, { recursive: true });
  const stamp = results.startedAt.replace(/[:.]/g, '-');
  if (writeJson) {
    const json = `${JSON.stringify(results, null, 2)}\n`;
    writeFileSync(join(options.outDir, `${stamp}.json`), json);
    writeFileSync(join(options.outDir, 'latest.json'), json);
  }
  const svg = renderSvg(results);
  writeFileSync(join(options.outDir, 'performance.svg'), svg);
  writeFileSync(join(options.outDir, 'report.md'), renderReport(results, 'performance.svg'));
  if (options.docs) {
    writeFileSync(join(DOCS_DIR, 'performance.svg'), svg);
    writeReport(join(DOCS_DIR, 'performance.md'), renderReport(results, 'performance.svg'));
  }
  process.stdout.write(`\n${scenarioTables(results)}\n### Targets of issue 6 (chorus-w2)\n\n${targetsTable(results)}\n\n`);
  const where = [...(writeJson ? [join(options.outDir, `${stamp}.json`)] : []), ...(options.docs ? [join(DOCS_DIR, 'performance.md'), join(DOCS_DIR, 'performance.svg')] : [])];
  process.stdout.write(`Wrote ${where.map((p) => relative(process.cwd(), p)).join(', ')} (${Math.round(results.wallSeconds)} s in all)\n`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    killAllSystems();
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
