import v8 from 'node:v8';

/**
 * V8 grows each process's young generation (two semi-spaces) up to 2 x 16 MiB
 * under load and keeps it. With a primary and N workers that is (N + 1) x 32
 * MiB of resident memory whatever the number of connections: measured with
 * 10,000 idle connections it was most of the difference between WORKERS=2 and
 * WORKERS=1 per connection (docs/performance.md).
 */

/** Each worker's semi-space, in MiB: half of V8's ceiling, which costs little in scavenges on the message path. */
export const WORKER_SEMI_SPACE_MIB = 8;

/** The execArgv for the cluster's workers: the semi-space ceiling, unless the operator chose one. */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].some(
    (a) => a === '--max-semi-space-size' || a.startsWith('--max-semi-space-size='),
  );
  return given ? [...execArgv] : [...execArgv, `--max-semi-space-size=${WORKER_SEMI_SPACE_MIB}`];
}

/**
 * The primary is off the message path, but a connect storm still makes V8
 * grow its young generation and keep it: keep it at its starting size. (The
 * growth factor is read at every growth, unlike the ceiling, which V8 reads
 * only at start.)
 */
export function keepPrimaryYoungGenerationSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}
