import { spawn } from 'node:child_process';

/** Removes colour and cursor escapes, and the carriage returns a terminal adds. */
export function plainText(output: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the escapes this removes.
  return output.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

/**
 * Runs `command` (a shell command line) with a pseudo-terminal as its stdout,
 * through util-linux's `script`, as a person at a terminal would; resolves
 * with what it printed (escapes removed) once `until` is true of it, after
 * ending it. The timeout is a safety net, not a wait: the test then fails on
 * the output so far.
 */
export function onTerminal(
  command: string,
  env: NodeJS.ProcessEnv,
  until: (output: string) => boolean,
  timeoutMs = 120_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn('script', ['-qec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // script ends the command's session on SIGTERM.
      proc.kill('SIGTERM');
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`no expected output within ${timeoutMs} ms; got:\n${plainText(output)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (until(plainText(output))) finish();
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('close', () => {
      if (done) resolve(plainText(output));
      else {
        finish();
        reject(new Error(`the command ended before the expected output; got:\n${plainText(output)}`));
      }
    });
  });
}
