import t from 'tap';
import { parseOptions, type BenchOptions } from '../../bench/dist/options.js';
import { evaluateTargets, summarizeRuns, type BenchResults, type RunRecord } from '../../bench/dist/report/results.js';
import { redisTable, targetSets, targetsTable } from '../../bench/dist/report/table.js';

/**
 * The report's parts for systems of several nodes, on figures made up for
 * the test (the pipeline that measures them is bench.test.ts's).
 */
const record = (run: number, scenario: RunRecord['scenario'], system: RunRecord['system'], figures: Record<string, number>): RunRecord => ({
  run,
  scenario,
  system,
  figures,
  notes: [],
  seconds: 1,
});

const runs: RunRecord[] = [1, 2, 3].flatMap((run) => [
  record(run, 'direct', 'chorus-redis', {
    maxRate: 30_000 + run,
    p99Ms: 4,
    redisCommandsPerMessage: 1 + run / 10,
    'redis.publish': 1,
    'redis.evalsha': run / 10,
    'redis.time': 0.001,
    redisCommandsPerMessageAtMax: 1.05,
    'redis.publishAtMax': 1,
    'redis.evalshaAtMax': 0.05,
    redisCpuCoresAtMax: 0.2,
    postgresCpuCoresAtMax: 0.3,
  }),
  record(run, 'direct', 'socketio-redis', {
    maxRate: 15_000,
    p99Ms: 10,
    redisCommandsPerMessage: 1,
    'redis.publish': 1,
    redisCpuCores: 0.1,
  }),
  record(run, 'fanout', 'chorus-redis', { cpuMicrosPerDelivery: 3, redisCommandsPerMessage: 1, 'redis.publish': 1 }),
  record(run, 'fanout', 'socketio-redis', { cpuMicrosPerDelivery: 2, redisCommandsPerMessage: 1, 'redis.publish': 1 }),
]);

t.test('the targets of issue 12 hold chorus-redis to socketio-redis, and the Redis commands to at most 2', async (t) => {
  const targets = evaluateTargets(runs).filter((target) => target.issue === 12);
  t.same(
    targets.map((target) => [target.system, target.figure, target.versus, target.met]),
    [
      ['chorus-redis', 'direct.maxRate', 'socketio-redis', true],
      ['chorus-redis', 'direct.p99Ms', 'socketio-redis', true],
      ['chorus-redis', 'fanout.cpuMicrosPerDelivery', 'socketio-redis', false],
      ['chorus-redis', 'direct.redisCommandsPerMessage', null, true],
    ],
  );
  t.equal(targets[1]!.ratio!.median, 0.4, 'p99 as the median of paired ratios');
  t.equal(targets[3]!.ratio, null, 'a bound on the figure itself has no ratio');
  t.equal(targets[3]!.value!.median, 1.2, 'but the median of the figure');
  t.equal(
    evaluateTargets([]).filter((target) => target.issue === 12 && target.met !== null).length,
    0,
    'nothing measured: nothing met or missed',
  );
});

const options = (argv: string[]): BenchOptions => {
  const parsed = parseOptions(argv);
  if (parsed === 'help') throw new Error('help');
  return parsed;
};

t.test('the report lists the Redis commands per routed message, and the targets of the systems that ran', async (t) => {
  const o = options(['--systems', 'socketio-redis,chorus-redis', '--scenarios', 'fanout,direct']);
  t.same(o.systems, ['chorus-redis', 'socketio-redis'], '--systems picks just these, in the canonical order');
  const results = {
    options: o,
    systems: o.systems.map((name) => ({ name, description: name })),
    runs,
    summary: summarizeRuns(runs, o.scenarios, o.systems),
    targets: evaluateTargets(runs),
  } as unknown as BenchResults;

  t.same(
    targetSets(results).map((set) => set.issue),
    [12],
    'only issue 12 has its system in the run',
  );
  const targets = targetsTable(results, 12);
  t.match(targets, /\| target \(chorus-redis\) \|/);
  t.match(
    targets,
    /\| direct across nodes: highest sustained rate >= 1\.5x Socket\.IO on Redis \| 2\.00 \(2\.00–2\.00\) vs socketio-redis \| met \|/,
  );
  t.match(targets, /\| direct: Redis commands per private message <= 2 \(at 5k msg\/s\) \| 1\.20 \(1\.10–1\.30\) \| met \|/);
  t.match(
    targets,
    /\| fanout: server CPU per delivery <= 1\.0x Socket\.IO on Redis \| 1\.50 \(1\.50–1\.50\) vs socketio-redis \| \*\*not met\*\* \|/,
  );

  const table = redisTable(results);
  const lines = table.split('\n');
  t.equal(lines.length, 2 + 5, 'a header and one row per window and system with a Redis');
  t.match(
    lines[2],
    /^\| direct, at the fixed rate \| chorus-redis \| 1\.20 \(1\.10–1\.30\) \| publish 1\.00, evalsha 0\.20, 1 other < 0\.01 \| n\/a \| n\/a \|$/,
    'rare commands are counted, not listed',
  );
  t.match(
    lines[4],
    /^\| direct, at the highest rate \| chorus-redis \| 1\.05 \(1\.05–1\.05\) \| publish 1\.00, evalsha 0\.05 \| 0\.20 \(0\.20–0\.20\) \| 0\.30 \(0\.30–0\.30\) \|$/,
  );
  t.match(table, /\| fanout \| socketio-redis \| 1\.00 \(1\.00–1\.00\) \| publish 1\.00 \|/);
  t.equal(
    redisTable({ ...results, systems: [{ name: 'ws-relay', description: '' }] } as unknown as BenchResults),
    '',
    'no table without a Redis',
  );
});

t.test('results written before issue 12 (targets without issue or system) still render as issue 6', async (t) => {
  const old = {
    systems: [{ name: 'chorus-w2', description: '' }],
    targets: [
      {
        text: 'memory per idle connection <= 1.5x plain ws',
        figure: 'connect.memoryKiBPerConnection',
        versus: 'ws-relay',
        op: '<=',
        limit: 1.5,
        ratio: { median: 1.2, min: 1.2, max: 1.2, n: 1 },
        met: true,
      },
    ],
  } as unknown as BenchResults;
  t.same(
    targetSets(old).map((set) => set.issue),
    [6],
  );
  t.match(targetsTable(old, 6), /\| memory per idle connection <= 1\.5x plain ws \| 1\.20 vs ws-relay \| met \|/);
  t.notMatch(targetsTable(old, 12), /memory/);
});

t.test('--postgres and --redis-server choose where the engines come from', async (t) => {
  const o = options(['--postgres', 'postgresql://postgres@127.0.0.1:5433/postgres', '--redis-server', '/opt/redis/bin/redis-server']);
  t.equal(o.postgresUrl, 'postgresql://postgres@127.0.0.1:5433/postgres');
  t.equal(o.redisServer, '/opt/redis/bin/redis-server');
  const defaults = options(['--quick']);
  t.equal(defaults.postgresUrl, 'postgresql://postgres@127.0.0.1:5432/postgres');
  t.equal(defaults.redisServer, 'redis-server');
  t.ok(defaults.systems.includes('chorus-redis') && defaults.systems.includes('socketio-redis'), 'both run by default');
});
