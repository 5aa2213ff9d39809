import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { outDir, runBench } from '../helpers/bench-cli.js';

/**
 * Smoke test of `npm run bench`: the whole pipeline (every system, every
 * scenario, the JSON, the tables and the chart) with tiny parameters. It checks
 * that the figures exist and are sane, never how fast anything is.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SYSTEMS = ['chorus-w1', 'chorus-w2', 'ws-relay', 'socketio-cluster', 'chorus-redis', 'socketio-redis'];
const SCENARIOS = ['connect', 'fanout', 'direct', 'room', 'direct-text', 'reconnect-storm'];

interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}
interface Cell {
  figures: Record<string, Summary>;
  ratios: Record<string, Record<string, Summary>>;
  skipped?: string;
  errors: string[];
}
interface Results {
  systems: { name: string }[];
  runs: { scenario: string; system: string; error?: string }[];
  summary: Record<string, Record<string, Cell>>;
  targets: { text: string; met: boolean | null }[];
  machine: { cpus: number; cpuModel: string; node: string };
}

/** When docs/performance.md was last written (null: there is none), to tell that a run left it alone. */
function docsMtime(): number | null {
  const docs = join(ROOT, 'docs/performance.md');
  return existsSync(docs) ? statSync(docs).mtimeMs : null;
}

t.test('npm run bench, tiny: every system and scenario, sane figures', async (t) => {
  const out = outDir(t);
  const docsBefore = docsMtime();

  const { code, stdout, stderr } = await runBench([
    '--runs',
    '1',
    '--connections',
    '200',
    '--clients',
    '200',
    '--storm-clients',
    '100',
    '--rate',
    '1000',
    '--duration',
    '1',
    '--warmup',
    '0.3',
    '--noise-retries',
    '0',
    '--out',
    out,
    '--no-docs',
  ]);
  t.equal(code, 0, `exits 0\n${stderr.slice(-3000)}`);
  t.ok(existsSync(join(out, 'latest.json')), 'writes latest.json');
  t.ok(readFileSync(join(out, 'performance.svg'), 'utf8').startsWith('<svg'), 'writes the chart');
  const report = readFileSync(join(out, 'report.md'), 'utf8');
  t.match(report, /### Targets of issue 6/, 'writes the report');
  t.match(report, /### Targets of issue 12 \(chorus-redis\)/, 'with the targets of issue 12');
  t.match(report, /#### Redis commands per routed message/, 'and the Redis commands per message');
  t.equal(docsMtime(), docsBefore, '--no-docs leaves docs/ alone');
  t.match(stdout, /#### fanout/, 'prints the tables');

  const results = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Results;
  t.same(
    results.systems.map((s) => s.name),
    SYSTEMS,
  );
  t.ok(results.machine.cpus > 0 && results.machine.node.startsWith('v'), 'describes the machine');
  t.same(
    results.runs.filter((r) => r.error !== undefined),
    [],
    'no measurement failed',
  );
  t.equal(results.targets.length, 12, 'evaluates the eight targets of issue 6 and the four of issue 12');

  const finitePositive = (cell: Cell, key: string) => {
    const s = cell.figures[key];
    return s !== undefined && Number.isFinite(s.median) && s.median > 0;
  };
  for (const scenario of SCENARIOS) {
    for (const system of SYSTEMS) {
      const cell = results.summary[scenario]?.[system];
      t.ok(cell, `${scenario}/${system} reported`);
      if (!cell) continue;
      if (scenario === 'direct-text' && !system.startsWith('chorus')) {
        t.match(cell.skipped, /has no text protocol/, `${scenario}/${system}: not applicable, said so`);
        continue;
      }
      if (scenario === 'reconnect-storm') {
        // Chorus on one node only (more in reconnect-storm.test.ts).
        if (system === 'chorus-w1' || system === 'chorus-w2') {
          t.equal(cell.figures.resumed?.median, 100, `${scenario}/${system}: every client resumed`);
          t.equal(cell.figures.lostMessages?.median, 0, `${scenario}/${system}: nothing acked lost`);
        } else {
          t.match(cell.skipped, /has no resume|several nodes/, `${scenario}/${system}: not applicable, said so`);
        }
        continue;
      }
      if (scenario === 'room' && cell.skipped !== undefined) {
        t.match(cell.skipped, new RegExp(`^${system} has no rooms`), `${scenario}/${system}: no rooms, said so`);
        continue;
      }
      t.equal(cell.skipped, undefined, `${scenario}/${system} measured`);
      if (scenario === 'connect') {
        t.ok(finitePositive(cell, 'connectSeconds'), `${system}: time to connect`);
        t.ok(Number.isFinite(cell.figures.memoryKiBPerConnection?.median), `${system}: memory per connection`);
        t.equal(cell.figures.connected?.median, 200, `${system}: all connected`);
      } else if (scenario === 'fanout' || scenario === 'room') {
        t.ok(finitePositive(cell, 'deliveriesPerSecond'), `${scenario}/${system}: deliveries/s`);
        t.ok(finitePositive(cell, 'cpuMicrosPerDelivery'), `${scenario}/${system}: CPU per delivery`);
      } else {
        t.ok(finitePositive(cell, 'p50Ms'), `${scenario}/${system}: p50`);
        t.ok(cell.figures.p99Ms!.median >= cell.figures.p50Ms!.median, `${scenario}/${system}: p99 >= p50`);
        t.ok(finitePositive(cell, 'maxRate'), `${scenario}/${system}: highest rate`);
        t.ok(finitePositive(cell, 'cpuMicrosPerMessage'), `${scenario}/${system}: CPU per message`);
      }
      if (system !== 'ws-relay') t.ok(Object.keys(cell.ratios['ws-relay'] ?? {}).length > 0, `${scenario}/${system}: ratios to ws-relay`);
      if (system.endsWith('-redis') && scenario !== 'connect') {
        t.ok(finitePositive(cell, 'redisCommandsPerMessage'), `${scenario}/${system}: Redis commands per message`);
        t.ok((cell.figures['redis.publish']?.median ?? 0) > 0, `${scenario}/${system}: PUBLISH among them`);
      }
      if (system === 'chorus-redis') t.ok(cell.ratios['socketio-redis'], `${scenario}/${system}: ratios to socketio-redis`);
    }
  }
});

t.test('--help and bad flags', async (t) => {
  const help = await runBench(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--connections N/);
  const bad = await runBench(['--runs', 'many']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--runs must be an integer/);
});

t.test('--before: a build before a change runs beside the current one, with paired ratios', async (t) => {
  const out = outDir(t);
  const docsBefore = docsMtime();
  // The current build stands in for the one before: the pipeline is what is tested.
  const { code, stdout, stderr } = await runBench([
    '--before',
    join(ROOT, 'apps/server/dist/main.js'),
    '--systems',
    'chorus-w1,before-w1',
    '--scenarios',
    'direct',
    '--runs',
    '1',
    '--clients',
    '100',
    '--rate',
    '500',
    '--duration',
    '0.5',
    '--warmup',
    '0.2',
    '--out',
    out,
  ]);
  t.equal(code, 0, `exits 0\n${stderr.slice(-3000)}`);
  const results = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Results;
  t.same(
    results.systems.map((s) => s.name),
    ['chorus-w1', 'before-w1'],
  );
  t.ok(results.summary.direct?.['before-w1']?.figures.maxRate, 'the build before is measured');
  t.match(stdout, /### This build against the build before the change \(--before\)/);
  t.match(stdout, /\| figure \| chorus-w1 \/ before-w1 \|/);
  t.match(stdout, /\| direct: highest sustained rate \(higher is better\) \| \d+\.\d+ \|/, 'a paired ratio per figure');
  t.equal(docsMtime(), docsBefore, '--before leaves docs/ alone');
});

t.test('before-w1 without --before is refused plainly', async (t) => {
  const bad = await runBench(['--systems', 'before-w1']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /before-w1, before-w2 and before-redis need --before PATH/);
});
