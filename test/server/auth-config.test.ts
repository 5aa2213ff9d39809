import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@chorus/service-kit';
import t from 'tap';
import { DEVELOPMENT_AUTH_SECRET, loadServerConfig } from '../../apps/server/src/config.js';

const GOOD_SECRET = 'kZ2v9Qp4rT8wX1yB6nM3cF7hJ0lA5sD2gE9uI4oP';

/** The problem lines of a configuration that fails, or [] when it loads. */
function problems(env: Record<string, string>): string[] {
  try {
    loadServerConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

t.test('defaults: open mode, 7-day tokens, the development secret outside production', async (t) => {
  const config = loadServerConfig({});
  t.equal(config.AUTH_MODE, 'open');
  t.equal(config.TOKEN_TTL_SECONDS, 7 * 24 * 3600);
  t.equal(config.AUTH_SECRET, DEVELOPMENT_AUTH_SECRET);
  t.match(DEVELOPMENT_AUTH_SECRET, /development/, 'clearly named');
  t.equal(loadServerConfig({ ENVIRONMENT: 'test' }).AUTH_SECRET, DEVELOPMENT_AUTH_SECRET);
  t.same(
    [config.AUTH_FAILURES_PER_ACCOUNT, config.AUTH_FAILURES_PER_IP, config.AUTH_REGISTRATIONS_PER_IP, config.AUTH_RATE_WINDOW_SECONDS],
    [10, 100, 20, 900],
  );
  t.equal(loadServerConfig({ AUTH_MODE: 'required' }).AUTH_MODE, 'required');
});

t.test('production refuses a missing or development secret, readably', async (t) => {
  for (const env of [{}, { AUTH_SECRET: '' }, { AUTH_SECRET: DEVELOPMENT_AUTH_SECRET }] as Record<string, string>[]) {
    const found = problems({ ENVIRONMENT: 'production', ...env });
    t.equal(found.length, 1, JSON.stringify(env));
    t.match(found[0], /^AUTH_SECRET: production needs its own secret/);
    t.notOk(found[0]!.includes(DEVELOPMENT_AUTH_SECRET), 'the secret is not quoted');
  }
  t.equal(loadServerConfig({ ENVIRONMENT: 'production', AUTH_SECRET: GOOD_SECRET }).AUTH_SECRET, GOOD_SECRET);
});

t.test('a short secret, a bad mode or TTL are refused; a secret is never echoed', async (t) => {
  const short = problems({ AUTH_SECRET: 'hunter2-but-longer' });
  t.same(short, ['AUTH_SECRET: must be at least 32 characters (e.g. openssl rand -base64 48)']);
  t.match(problems({ AUTH_MODE: 'closed' }), [/^AUTH_MODE: .*\(got "closed"\)$/]);
  t.match(problems({ TOKEN_TTL_SECONDS: '5' }), [/^TOKEN_TTL_SECONDS: /]);
  t.match(problems({ AUTH_FAILURES_PER_ACCOUNT: '0' }), [/^AUTH_FAILURES_PER_ACCOUNT: /]);
});

t.test('the built server with ENVIRONMENT=production and no secret stops with one readable line', async (t) => {
  // An empty folder as the working directory: no .env.prod to read.
  const cwd = mkdtempSync(join(tmpdir(), 'chorus-auth-config-'));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  const main = join(process.cwd(), 'apps/server/dist/main.js');
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const proc = spawn(process.execPath, [main], {
      cwd,
      env: { ...process.env, ENVIRONMENT: 'production', AUTH_SECRET: '', HOST: '127.0.0.1', PORT: '0', WORKERS: '1', LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.on('exit', (code) => resolve({ code, stderr }));
  });
  t.equal(code, 1);
  t.match(stderr, /^chorus server: invalid configuration:\n {2}- AUTH_SECRET: production needs its own secret/);
  t.notMatch(stderr, /\n\s+at /, 'no stack trace');
});
