import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { build } from '../../apps/client/src/app.js';
import { loadClientConfig } from '../../apps/client/src/config.js';
import { startApp } from '../helpers/spawn-app.js';

function fixtureStatic(t: Test): string {
  const dir = t.testdir({
    'index.html': '<!doctype html><title>Chorus</title><div id="app"></div>',
    assets: { 'app.js': 'console.log(1)' },
  });
  return dir;
}

t.test('GET /env tells the browser where the chat server is', async (t) => {
  const config = loadClientConfig({ STATIC_DIR: fixtureStatic(t), SERVER: 'wss://chat.example.com/', PORT: '3000', HOST: '0.0.0.0' });
  const app = await build({ ...config, LOG_LEVEL: 'silent' });
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/env' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { HOST: '0.0.0.0', PORT: 3000, SERVER: 'wss://chat.example.com' });
  t.equal(res.headers['cache-control'], 'no-store');
});

t.test('the app is served for / and for any page path (the id may be in it)', async (t) => {
  const config = loadClientConfig({ STATIC_DIR: fixtureStatic(t) });
  const app = await build({ ...config, LOG_LEVEL: 'silent' });
  t.teardown(() => app.close());
  for (const url of ['/', '/alice', '/bob.smith@example', '/deep/link']) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 200, url);
    t.match(res.body, /<title>Chorus<\/title>/, url);
  }
  const asset = await app.inject({ method: 'GET', url: '/assets/app.js' });
  t.equal(asset.body, 'console.log(1)');
  const missing = await app.inject({ method: 'GET', url: '/assets/nope.js' });
  t.equal(missing.statusCode, 404);
  const post = await app.inject({ method: 'POST', url: '/alice' });
  t.equal(post.statusCode, 404);
});

t.test('configuration is validated with readable errors', async (t) => {
  t.throws(() => loadClientConfig({ SERVER: 'http://localhost:8080' }), /SERVER must be a ws:\/\/ or wss:\/\/ URL/);
  t.throws(() => loadClientConfig({ PORT: '70000' }), /PORT: .*\(got "70000"\)/);
  t.throws(() => loadClientConfig({ ENVIRONMENT: 'production' }), /SERVER points at localhost in production/);
  t.equal(loadClientConfig({}).SERVER, 'ws://localhost:8080');
  t.equal(loadClientConfig({}).PORT, 3000);
});

t.test('a missing build is reported plainly', async (t) => {
  const empty = t.testdir({});
  mkdirSync(join(empty, 'x'));
  writeFileSync(join(empty, 'x', 'y'), '');
  await t.rejects(
    build({ ...loadClientConfig({ STATIC_DIR: empty }), LOG_LEVEL: 'silent' }),
    /no built browser client .* run "npm run build" first/,
  );
});

/** An empty folder, removed at teardown: a working directory without .env files. */
function emptyDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-client-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('started: where its settings came from, "accepting connections" once, then the URL to open', async (t) => {
  const cwd = emptyDir(t);
  // 0.0.0.0: Fastify would log a line per address of the machine.
  const app = await startApp('client', { HOST: '0.0.0.0' }, { cwd });
  await app.stop();
  t.match(
    app.logs.find((l) => 'envFile' in l),
    {
      envFile: join(cwd, '.env'),
      loaded: false,
      msg: `no ${join(cwd, '.env')}: settings from environment variables and defaults only`,
    },
  );
  t.equal(app.logs.filter((l) => l.msg === 'accepting connections').length, 1, '"accepting connections" once');
  const url = `http://localhost:${app.port}/`;
  t.match(app.logs.at(-2), { msg: 'listening', port: app.port });
  t.match(app.logs.at(-1), { url, msg: `open ${url} in a browser to chat` }, 'the last line says which URL to open');
});

t.test('ENVIRONMENT=production without .env.prod: the log says there is none', async (t) => {
  const cwd = emptyDir(t);
  const app = await startApp('client', { ENVIRONMENT: 'production', SERVER: 'wss://chat.example.com' }, { cwd });
  await app.stop();
  t.match(
    app.logs.find((l) => 'envFile' in l),
    { envFile: join(cwd, '.env.prod'), loaded: false, msg: /^no .*\.env\.prod: / },
  );
});

t.test('security headers: a policy that allows the page, the chat server and nothing inline', async (t) => {
  const config = loadClientConfig({ STATIC_DIR: fixtureStatic(t), SERVER: 'wss://chat.example.com:8443' });
  const app = await build({ ...config, LOG_LEVEL: 'silent' });
  t.teardown(() => app.close());
  for (const url of ['/', '/alice', '/env', '/assets/app.js']) {
    const res = await app.inject({ method: 'GET', url });
    const csp = String(res.headers['content-security-policy']);
    const directives = new Map(
      csp.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name!, values.join(' ')] as const;
      }),
    );
    t.equal(directives.get('default-src'), "'self'", url);
    t.equal(directives.get('script-src'), "'self'", `${url}: no inline or eval'd script`);
    t.equal(directives.get('style-src'), "'self'", `${url}: no inline style`);
    t.equal(
      directives.get('connect-src'),
      "'self' wss://chat.example.com:8443 https://chat.example.com:8443",
      `${url}: the chat server, over WebSocket and HTTPS`,
    );
    t.equal(directives.get('frame-ancestors'), "'none'", `${url}: never framed`);
    t.equal(directives.get('object-src'), "'none'");
    t.ok(directives.has('upgrade-insecure-requests'), 'a chat server on TLS: so is everything else');
    t.equal(res.headers['x-content-type-options'], 'nosniff', url);
    t.equal(res.headers['referrer-policy'], 'no-referrer', url);
    t.match(String(res.headers['strict-transport-security']), /max-age=\d+/, url);
  }
});

t.test('a development chat server on ws://: connections to it stay ws://, no HSTS', async (t) => {
  const config = loadClientConfig({ STATIC_DIR: fixtureStatic(t), SERVER: 'ws://localhost:8080' });
  const app = await build({ ...config, LOG_LEVEL: 'silent' });
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/' });
  const csp = String(res.headers['content-security-policy']);
  t.match(csp, /connect-src 'self' ws:\/\/localhost:8080 http:\/\/localhost:8080/);
  t.notMatch(csp, /upgrade-insecure-requests/, 'it would turn ws:// into a wss:// that is not there');
  t.equal(res.headers['strict-transport-security'], undefined);
});

t.test('caching: hashed assets for a year, the page and /env asked again every time', async (t) => {
  const config = loadClientConfig({ STATIC_DIR: fixtureStatic(t) });
  const app = await build({ ...config, LOG_LEVEL: 'silent' });
  t.teardown(() => app.close());
  t.equal((await app.inject({ method: 'GET', url: '/assets/app.js' })).headers['cache-control'], 'public, max-age=31536000, immutable');
  t.equal((await app.inject({ method: 'GET', url: '/' })).headers['cache-control'], 'no-cache', 'index.html names the current assets');
  t.equal((await app.inject({ method: 'GET', url: '/index.html' })).headers['cache-control'], 'no-cache');
  t.equal((await app.inject({ method: 'GET', url: '/alice' })).headers['cache-control'], 'no-cache');
  t.equal((await app.inject({ method: 'GET', url: '/env' })).headers['cache-control'], 'no-store');
});

t.test('compressed assets: the .br or .gz the build wrote, for a browser that accepts it', async (t) => {
  const dir = t.testdir({
    'index.html': '<!doctype html><title>Chorus</title>',
    assets: { 'app.js': 'console.log(1)', 'app.js.br': 'BROTLI-BYTES', 'app.js.gz': 'GZIP-BYTES' },
  });
  const app = await build({ ...loadClientConfig({ STATIC_DIR: dir }), LOG_LEVEL: 'silent' });
  t.teardown(() => app.close());
  const br = await app.inject({ method: 'GET', url: '/assets/app.js', headers: { 'accept-encoding': 'gzip, deflate, br' } });
  t.equal(br.headers['content-encoding'], 'br');
  t.equal(br.body, 'BROTLI-BYTES');
  t.match(String(br.headers['content-type']), /javascript/);
  t.equal(br.headers['cache-control'], 'public, max-age=31536000, immutable');
  const gz = await app.inject({ method: 'GET', url: '/assets/app.js', headers: { 'accept-encoding': 'gzip' } });
  t.equal(gz.headers['content-encoding'], 'gzip');
  const plain = await app.inject({ method: 'GET', url: '/assets/app.js', headers: { 'accept-encoding': 'identity' } });
  t.equal(plain.body, 'console.log(1)');
});

t.test('the build writes .br and .gz beside its assets', async (t) => {
  const assets = join(fileURLToPath(new URL('../../static/assets/', import.meta.url)));
  const files = readdirSync(assets);
  const js = files.find((f) => f.endsWith('.js'));
  t.ok(js, 'a built script');
  t.ok(files.includes(`${js}.br`) && files.includes(`${js}.gz`), `${js} has its .br and .gz`);
  t.equal(brotliDecompressSync(readFileSync(join(assets, `${js}.br`))).toString(), readFileSync(join(assets, js!)).toString());
});
