/**
 * `npm run bench`: parses the flags, starts the load generators, runs the
 * bench (runner.ts), then writes the JSON results, the tables (stdout and
 * docs/performance.md) and the chart (docs/performance.svg). Servers and
 * generators are stopped at the end, on error and on Ctrl-C.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { GeneratorPool } from './load/pool.js';
import { DOCS_DIR, HELP, parseOptions, type BenchOptions } from './options.js';
import { renderReport, writeReport } from './report/docs.js';
import type { BenchResults } from './report/results.js';
import { renderSvg } from './report/svg.js';
import { beforeTable, redisTable, scenarioTables, targetSets, targetsTable } from './report/table.js';
import { Runner } from './runner.js';
import { killAllSystems } from './server-process.js';
import { snapshotChorus } from './snapshot.js';
import { Status } from './status.js';
import { ROOT } from './systems.js';

const REQUIRED_BUILDS = [
  'bench/dist/baselines/ws-relay.js',
  'bench/dist/baselines/socketio-cluster.js',
  'bench/dist/baselines/socketio-redis.js',
];

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
  const missing = [
    options.chorusEntry,
    ...(options.beforeEntry === null ? [] : [options.beforeEntry]),
    ...REQUIRED_BUILDS.map((p) => join(ROOT, p)),
  ]
    .filter((p) => !existsSync(p))
    .map((p) => relative(ROOT, p));
  if (missing.length > 0) {
    process.stderr.write(`bench: ${missing.join(', ')} missing: run \`npm run build\` first (npm run bench does)\n`);
    return 2;
  }

  const status = new Status();
  const snapshot = options.systems.some((s) => s.startsWith('chorus')) ? snapshotChorus(options.chorusEntry) : null;
  const pool = new GeneratorPool(options.generators);
  const stopEverything = async (): Promise<void> => {
    status.done();
    pool.kill();
    await killAllSystems();
    snapshot?.dispose();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      // Every process is killed at once; only the databases' DROP is waited for (5 s at most).
      void stopEverything().finally(() => {
        process.stderr.write(`\nbench: interrupted (${signal}); every server and load generator was stopped\n`);
        process.exit(130);
      });
    });
  }

  try {
    const results = await new Runner(options, pool, status, snapshot?.entry ?? options.chorusEntry).run();
    status.done();
    report(results, options);
    const failed = results.runs.filter((r) => r.error !== undefined).length;
    if (failed > 0) process.stderr.write(`bench: ${failed} measurement(s) failed; see the notes under the tables\n`);
    return failed > 0 ? 1 : 0;
  } finally {
    await stopEverything();
  }
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
  process.stdout.write(`\n${scenarioTables(results)}\n`);
  const redis = redisTable(results);
  if (redis !== '') process.stdout.write(`#### Redis commands per routed message\n\n${redis}\n\n`);
  for (const set of targetSets(results)) {
    process.stdout.write(`### Targets of issue ${set.issue} (${set.system})\n\n${targetsTable(results, set.issue)}\n\n`);
  }
  const versusBefore = beforeTable(results);
  if (versusBefore !== '') process.stdout.write(`### This build against the build before the change (--before)\n\n${versusBefore}\n\n`);
  const where = [
    ...(writeJson ? [join(options.outDir, `${stamp}.json`)] : [join(options.outDir, 'report.md')]),
    ...(options.docs ? [join(DOCS_DIR, 'performance.md'), join(DOCS_DIR, 'performance.svg')] : []),
  ];
  process.stdout.write(`Wrote ${where.map((p) => relative(process.cwd(), p)).join(', ')} (${Math.round(results.wallSeconds)} s in all)\n`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    void killAllSystems().finally(() => process.exit(1));
  },
);
