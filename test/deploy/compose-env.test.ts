import { readFileSync } from 'node:fs';
import dotenv from 'dotenv';
import t from 'tap';
import { ClientConfigSchema, loadClientConfig } from '../../apps/client/src/config.js';
import { ServerConfigSchema, loadServerConfig } from '../../apps/server/src/config.js';

/**
 * deploy/env.prod.example, as deploy/compose.yaml hands it to the apps, passes
 * each app's production validation once its required secrets are filled in,
 * and refuses to start as shipped (no AUTH_SECRET).
 */

const example = dotenv.parse(readFileSync('deploy/env.prod.example', 'utf8'));
const compose = readFileSync('deploy/compose.yaml', 'utf8');
/** What compose.yaml's `environment:` adds to the file for a chat-server node. */
const serverOverrides = {
  PORT: '8080',
  WORKERS: '2',
  REDIS_URL: 'redis://redis:6379',
  DATABASE_URL: 'postgresql://chorus:a1b2c3@postgres:5432/chorus',
  TRUST_PROXY: '1',
};
const filled = { ...example, POSTGRES_PASSWORD: 'a1b2c3', AUTH_SECRET: 'x'.repeat(48) };

t.test('every variable in the example is read by an app or by compose.yaml', async (t) => {
  const known = new Set([...Object.keys(ServerConfigSchema.shape), ...Object.keys(ClientConfigSchema.shape)]);
  const commented = [...readFileSync('deploy/env.prod.example', 'utf8').matchAll(/^#\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
  for (const name of [...Object.keys(example), ...commented]) {
    t.ok(known.has(name) || compose.includes(`\${${name}`), `${name} is used`);
  }
});

t.test('compose.yaml sets what the example leaves to it', async (t) => {
  for (const [name, value] of Object.entries(serverOverrides)) {
    t.notOk(name in example, `${name} is not in the example`);
    if (name === 'PORT' || name === 'WORKERS') t.match(compose, `${name}: "${value}"`);
  }
  t.match(compose, 'REDIS_URL: redis://redis:6379');
  t.match(compose, 'DATABASE_URL: postgresql://chorus:${POSTGRES_PASSWORD');
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's own interpolation, not a template
  t.match(compose, 'TRUST_PROXY: ${TRUST_PROXY_HOPS:-1}');
});

t.test('filled in, the example passes both apps’ production validation', async (t) => {
  const server = loadServerConfig({ ...filled, ...serverOverrides });
  t.equal(server.ENVIRONMENT, 'production');
  t.same(server.ALLOWED_ORIGINS, ['https://chat.example.com']);
  t.equal(server.TRUST_PROXY, 1);
  t.equal(server.WORKERS, 2);
  const client = loadClientConfig({ ...filled, PORT: '3000' });
  t.equal(client.SERVER, 'wss://chat.example.com');
  // The browser's page and the chat server are one origin behind nginx.
  t.equal(new URL(client.SERVER).host, new URL(server.ALLOWED_ORIGINS[0]!).host);
});

t.test('as shipped, the server refuses to start: AUTH_SECRET is not set', async (t) => {
  t.throws(() => loadServerConfig({ ...example, ...serverOverrides }), /AUTH_SECRET/);
});
