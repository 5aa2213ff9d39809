import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Reads a file's text, or null when it is not there (not Linux, no cgroup, no such controller). */
export type ReadText = (path: string) => string | null;

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

/**
 * The CPUs this process may use by its cgroup's CPU quota (a container's
 * `--cpus`, Kubernetes' CPU limit), or null when there is none. Cgroup v2:
 * `cpu.max` of the process's own cgroup ("200000 100000": 2 CPUs; "max
 * 100000": no quota). Cgroup v1: `cpu.cfs_quota_us` over `cpu.cfs_period_us`
 * (-1: no quota). A fraction (1.5 CPUs) is kept as it is.
 */
export function cpuQuota(read: ReadText = readText): number | null {
  const v2 = read('/proc/self/cgroup')
    ?.split('\n')
    .find((line) => line.startsWith('0::'))
    ?.slice(3)
    .trim();
  for (const dir of v2 === undefined ? [] : [`/sys/fs/cgroup${v2 === '/' ? '' : v2}`, '/sys/fs/cgroup']) {
    const max = read(`${dir}/cpu.max`)?.trim().split(/\s+/);
    if (!max) continue;
    const [quota, period] = max;
    if (quota === 'max') return null;
    return ratio(Number(quota), Number(period ?? 100_000));
  }
  for (const dir of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
    const quota = read(`${dir}/cpu.cfs_quota_us`);
    if (quota === null) continue;
    if (Number(quota) <= 0) return null;
    return ratio(Number(quota), Number(read(`${dir}/cpu.cfs_period_us`) ?? 100_000));
  }
  return null;
}

function ratio(quota: number, period: number): number | null {
  return Number.isFinite(quota) && Number.isFinite(period) && quota > 0 && period > 0 ? quota / period : null;
}

export interface WorkersChoice {
  readonly workers: number;
  /** Why, in words, for the start-up log. */
  readonly reason: string;
}

/**
 * The default WORKERS: one per CPU the process may use. availableParallelism()
 * counts the host's CPUs (or the affinity mask), not a container's quota: on a
 * 16-CPU host with a 1-CPU limit it would fork 16 workers that share one CPU's
 * time. The quota is rounded up (1.5 CPUs: two workers, the second busy half
 * the time) and never exceeds the CPUs there are.
 */
export function defaultWorkers(options: { parallelism?: number; quota?: number | null } = {}): WorkersChoice {
  const parallelism = options.parallelism ?? availableParallelism();
  const quota = options.quota === undefined ? cpuQuota() : options.quota;
  if (quota === null) return { workers: parallelism, reason: `${parallelism} CPU(s) available, no CPU quota` };
  const workers = Math.max(1, Math.min(parallelism, Math.ceil(quota - 1e-9)));
  return { workers, reason: `CPU quota of ${+quota.toFixed(2)} CPU(s) (cgroup) on ${parallelism} available` };
}
