import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import t from 'tap';

/** Runs the built server with `env` and resolves with its exit code and stderr once it exits. */
function runServer(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['apps/server/dist/main.js'], {
      env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.on('exit', (code) => resolve({ code, stderr }));
  });
}

t.test('a port already in use is reported in one plain sentence', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  for (const workers of ['1', '2']) {
    const { code, stderr } = await runServer({ PORT: String(port), WORKERS: workers });
    t.equal(code, 1, `WORKERS=${workers} exits 1`);
    t.equal(stderr.trim(), `chorus server: port ${port} is in use: is another server running?`);
  }
});

t.test('a bad configuration fails start-up with a readable message', async (t) => {
  const { code, stderr } = await runServer({ PORT: 'eighty', MAX_CLIENTS: '0', WORKERS: '1' });
  t.equal(code, 1);
  t.match(stderr, /^chorus server: invalid configuration:\n/);
  t.match(stderr, /- PORT: .*\(got "eighty"\)/);
  t.match(stderr, /- MAX_CLIENTS: .*\(got "0"\)/);
  t.notMatch(stderr, /\n\s+at /, 'no stack trace');
});

t.test('REDIS_URL with SQLite is refused plainly: a SQLite file cannot be shared between machines', async (t) => {
  const { code, stderr } = await runServer({ REDIS_URL: 'redis://127.0.0.1:6379', WORKERS: '1' });
  t.equal(code, 1);
  t.match(stderr, /REDIS_URL: several nodes need a database they all reach: set DATABASE_URL/);
  t.match(stderr, /SQLite file cannot be shared/);
});

t.test('a REDIS_URL that is not a Redis URL is refused plainly', async (t) => {
  const { code, stderr } = await runServer({ REDIS_URL: 'http://127.0.0.1:6379', DATABASE_URL: 'postgresql://x@127.0.0.1/x', WORKERS: '1' });
  t.equal(code, 1);
  t.match(stderr, /REDIS_URL: REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
});
