import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Runs the built benchmark (`node bench/dist/cli.js ...args`) from the repository root; resolves at its exit with what it printed. */
export function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [join(ROOT, 'bench/dist/cli.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A results folder of the test's own (named after `prefix`), removed after it. */
export function outDir(t: Test, prefix = 'chorus-bench-test-'): string {
  const out = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  return out;
}
