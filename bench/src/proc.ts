import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`, 100 on Linux). */
export const CLOCK_TICKS = readClockTicks();

function readClockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** `pid` and all of its live descendants (children of every thread, recursively). */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const current = stack.pop()!;
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${current}/task`);
    } catch {
      continue; // exited meanwhile
    }
    out.push(current);
    for (const task of tasks) {
      const children = readText(`/proc/${current}/task/${task}/children`);
      if (!children) continue;
      for (const child of children.trim().split(/\s+/)) if (child) stack.push(Number(child));
    }
  }
  return out;
}

/** User + system CPU time of one process, in microseconds (0 once it is gone). */
export function cpuMicros(pid: number): number {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return 0;
  // The command name (field 2) may contain spaces; fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1e6) / CLOCK_TICKS;
}

/**
 * When a process started (clock ticks since boot), or null once it has exited:
 * with its pid, it names one process for good (a pid alone may be reused).
 */
export function startTime(pid: number): number | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // A zombie has exited already: only its parent's wait() is missing.
  return fields[0] === 'Z' ? null : Number(fields[19]);
}

/** Resident set size of one process, in bytes (0 once it is gone). */
export function rssBytes(pid: number): number {
  const status = readText(`/proc/${pid}/status`);
  const match = status && /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** CPU time the whole machine spent busy (every core, every process), in microseconds. */
export function machineBusyMicros(): number {
  const line = (readText('/proc/stat') ?? '').split('\n', 1)[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal ...
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  const ticks = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  return (ticks * 1e6) / CLOCK_TICKS;
}

/** The socket inodes each of `pids` holds (its file descriptors that are sockets), inode -> pid. */
export function socketInodes(pids: readonly number[]): Map<string, number> {
  const inodes = new Map<string, number>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match) inodes.set(match[1]!, pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  return inodes;
}

/**
 * TCP ports in LISTEN state held by any of `pids` (IPv4 and IPv6), found by
 * matching the processes' socket inodes against /proc/net/tcp{,6}.
 */
export function listeningPorts(pids: readonly number[]): number[] {
  const inodes = socketInodes(pids);
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of (readText(table) ?? '').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is cols[1] ("0100007F:1F90"), st is cols[3] ("0A" = LISTEN), inode is cols[9].
      if (cols.length > 9 && cols[3] === '0A' && inodes.has(cols[9]!)) {
        ports.add(parseInt(cols[1]!.split(':')[1]!, 16));
      }
    }
  }
  return [...ports];
}

/** The repository's commit (short), with "+ changes" when the server's sources differ from it; null outside git. */
export function sourceVersion(root: string): string | null {
  try {
    const git = (...args: string[]): string =>
      execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'apps/server', 'packages');
    return dirty === '' ? commit : `${commit} + uncommitted changes`;
  } catch {
    return null;
  }
}

/** The machine the bench ran on, for the report. */
export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly kernel: string;
  readonly fdLimit: string;
}

export function machineInfo(cpus: number): MachineInfo {
  const cpuinfo = readText('/proc/cpuinfo') ?? '';
  const meminfo = readText('/proc/meminfo') ?? '';
  const memKiB = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0);
  const limits = readText('/proc/self/limits') ?? '';
  const fd = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  return {
    cpus,
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    memoryGiB: Math.round((memKiB / 1024 / 1024) * 10) / 10,
    node: process.version,
    kernel: (readText('/proc/sys/kernel/osrelease') ?? 'unknown').trim(),
    fdLimit: fd ? `${fd[1]} soft / ${fd[2]} hard` : 'unknown',
  };
}
