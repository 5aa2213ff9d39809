import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { runToExit } from '../helpers/run-to-exit.js';
import { startApp } from '../helpers/spawn-app.js';
import { onTerminal } from '../helpers/terminal.js';

const MAIN = join(process.cwd(), 'apps/server/dist/main.js');
/** Long enough for production, and not the development default. */
const PRODUCTION_SECRET = 'a-test-secret-of-more-than-32-characters';

/** Runs the built server with `env` until it exits by itself. */
function runServer(env: Record<string, string>) {
  return runToExit(process.execPath, [MAIN], { env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env } });
}

/** An empty folder, removed at teardown: a working directory without .env files. */
function emptyDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-startup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('a port already in use is reported in one plain sentence, once', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  for (const workers of ['1', '2']) {
    const { code, stdout, stderr } = await runServer({ PORT: String(port), WORKERS: workers, LOG_LEVEL: 'info' });
    t.equal(code, 1, `WORKERS=${workers} exits 1`);
    t.equal(stderr.trim(), `chorus server: port ${port} is in use: is another server running?`);
    t.notMatch(stdout, /in use/, `WORKERS=${workers}: no second copy of it in the log`);
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
  const { code, stderr } = await runServer({
    REDIS_URL: 'http://127.0.0.1:6379',
    DATABASE_URL: 'postgresql://x@127.0.0.1/x',
    WORKERS: '1',
  });
  t.equal(code, 1);
  t.match(stderr, /REDIS_URL: REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
});

t.test('the log says which env file the settings came from, or that there was none', async (t) => {
  const cwd = emptyDir(t);
  const env = { ENVIRONMENT: 'production', AUTH_SECRET: PRODUCTION_SECRET, WORKERS: '1', DATA_DIR: join(cwd, 'data') };
  const without = await startApp('server', env, { cwd });
  await without.stop();
  t.match(
    without.logs.find((l) => 'envFile' in l),
    {
      envFile: join(cwd, '.env.prod'),
      loaded: false,
      msg: `no ${join(cwd, '.env.prod')}: settings from environment variables and defaults only`,
    },
    'production without .env.prod says so',
  );

  writeFileSync(join(cwd, '.env.prod'), 'MAX_CLIENTS=7\n');
  const withFile = await startApp('server', env, { cwd });
  await withFile.stop();
  t.match(
    withFile.logs.find((l) => 'envFile' in l),
    { envFile: join(cwd, '.env.prod'), loaded: true, msg: /^settings from .*\.env\.prod/ },
  );
  t.equal(withFile.logs.filter((l) => 'envFile' in l).length, 1, 'said once');
});

t.test('logs to a pipe are JSON lines; "accepting connections" once per process', async (t) => {
  // 0.0.0.0: Fastify would log a line per address of the machine.
  const server = await startApp('server', { HOST: '0.0.0.0', WORKERS: '2' });
  await server.stop();
  const accepting = server.logs.filter((l) => l.msg === 'accepting connections');
  t.equal(accepting.length, 2, 'one line per worker');
  t.equal(new Set(accepting.map((l) => l.pid)).size, 2, 'from each worker once');
  t.match(accepting[0], { name: 'server', port: server.port, host: '0.0.0.0' });
});

t.test('on a terminal in development, the log is readable lines', async (t) => {
  const output = await onTerminal(
    `${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)}`,
    {
      ...process.env,
      ENVIRONMENT: 'development',
      HOST: '0.0.0.0',
      PORT: '0',
      WORKERS: '1',
      LOG_LEVEL: 'info',
      DATA_DIR: join(emptyDir(t), 'data'),
    },
    (out) => /INFO \(server\): listening/.test(out),
  );
  const lines = output.split('\n').filter((line) => line.trim() !== '');
  t.notOk(
    lines.some((line) => line.startsWith('{')),
    'no JSON lines',
  );
  t.match(
    output,
    /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(server\): accepting connections \{/m,
    'a clock time, the level, the app and the message',
  );
  t.equal(lines.filter((line) => line.includes('accepting connections')).length, 1, '"accepting connections" once');
});
