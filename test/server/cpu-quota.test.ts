import t from 'tap';
import { cpuQuota, defaultWorkers } from '../../apps/server/src/cpu-quota.js';
import { startApp } from '../helpers/spawn-app.js';

/** A file system of these files only. */
const files =
  (contents: Record<string, string>) =>
  (path: string): string | null =>
    contents[path] ?? null;

t.test('cgroup v2: cpu.max of the process own cgroup, then the root', async (t) => {
  t.equal(cpuQuota(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '200000 100000\n' })), 2);
  t.equal(cpuQuota(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '150000 100000\n' })), 1.5);
  t.equal(cpuQuota(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000\n' })), null, 'no quota');
  t.equal(
    cpuQuota(files({ '/proc/self/cgroup': '0::/kubepods/pod1/c1\n', '/sys/fs/cgroup/kubepods/pod1/c1/cpu.max': '50000 100000' })),
    0.5,
    'a nested cgroup (no cgroup namespace)',
  );
});

t.test('cgroup v1: cfs quota over period; -1 is none', async (t) => {
  const v1 = { '/proc/self/cgroup': '2:cpu,cpuacct:/\n1:memory:/\n' };
  t.equal(cpuQuota(files({ ...v1, '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '100000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' })), 1);
  t.equal(
    cpuQuota(
      files({
        ...v1,
        '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '300000\n',
        '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
      }),
    ),
    3,
  );
  t.equal(cpuQuota(files({ ...v1, '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' })), null);
  t.equal(cpuQuota(files({})), null, 'no cgroup files at all (not Linux)');
  t.equal(cpuQuota(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'garbage' })), null, 'unreadable: as if none');
});

t.test('the default WORKERS follows the quota, rounded up, never past the CPUs there are', async (t) => {
  t.same(defaultWorkers({ parallelism: 16, quota: 1 }), { workers: 1, reason: 'CPU quota of 1 CPU(s) (cgroup) on 16 available' });
  t.equal(defaultWorkers({ parallelism: 16, quota: 1.5 }).workers, 2);
  t.equal(defaultWorkers({ parallelism: 16, quota: 0.25 }).workers, 1);
  t.equal(defaultWorkers({ parallelism: 2, quota: 8 }).workers, 2);
  t.same(defaultWorkers({ parallelism: 4, quota: null }), { workers: 4, reason: '4 CPU(s) available, no CPU quota' });
});

t.test('the server says at start how many processes it runs and why', async (t) => {
  const given = await startApp('server', { WORKERS: '1' });
  t.teardown(() => given.stop());
  t.match(await given.waitForLog((l) => typeof l.reason === 'string' && 'workers' in l), { workers: 1, reason: 'WORKERS=1' });

  // Unset (an empty value counts as unset): the default, with its reason.
  const unset = await startApp('server', { WORKERS: '' });
  t.teardown(() => unset.stop());
  const line = await unset.waitForLog((l) => typeof l.reason === 'string' && 'workers' in l);
  const expected = defaultWorkers();
  t.match(line, { workers: expected.workers, reason: expected.reason });
  t.match(line.reason, /CPU\(s\) available, no CPU quota|CPU quota of [\d.]+ CPU\(s\)/);
});
