import { spawn } from 'node:child_process';

/** What a finished process printed, and how it ended. */
export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `command` until it exits by itself and resolves with its output. The
 * timeout is a safety net for a process that never ends (it is killed and
 * the test fails on what it printed), not a wait.
 */
export function runToExit(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<Finished> {
  return new Promise((resolve) => {
    const proc = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // The whole group: a shell or concurrently leaves its children behind otherwise.
    const timer = setTimeout(() => process.kill(-proc.pid!, 'SIGKILL'), options.timeoutMs ?? 120_000);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
