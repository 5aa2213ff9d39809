import { ConfigError } from '@chorus/service-kit';
import t from 'tap';
import { loadServerConfig } from '../../apps/server/src/config.js';
import { startInProcess } from '../helpers/in-process-server.js';
import { TestClient } from '../helpers/ws-client.js';

/** The TRUST_PROXY problem line of a configuration, or null when it loads. */
function problem(value: string): string | null {
  try {
    loadServerConfig({ TRUST_PROXY: value });
    return null;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.join('\n');
  }
}

t.test('TRUST_PROXY: nobody by default; addresses, ranges, names or a number of proxies', async (t) => {
  t.equal(loadServerConfig({}).TRUST_PROXY, false);
  t.equal(loadServerConfig({ TRUST_PROXY: 'false' }).TRUST_PROXY, false);
  t.same(loadServerConfig({ TRUST_PROXY: '10.0.0.5, 10.1.0.0/16,loopback, fd00::/8' }).TRUST_PROXY, [
    '10.0.0.5',
    '10.1.0.0/16',
    'loopback',
    'fd00::/8',
  ]);
  t.equal(loadServerConfig({ TRUST_PROXY: '2' }).TRUST_PROXY, 2);
  t.match(problem('true'), /^TRUST_PROXY: true would let any client choose its own address/);
  t.match(problem('10.0.0.0/33'), /"10\.0\.0\.0\/33" is not an IP address, a CIDR range/);
  t.match(problem('proxy.example.com'), /"proxy\.example\.com" is not an IP address/);
  t.match(problem('0'), /between 1 and 16/);
});

/** Connects as `id`, with X-Forwarded-For saying `forwardedFor`; resolves with the first frame's type and the close code, if any. */
async function connectFrom(
  base: string,
  id: string,
  forwardedFor: string,
): Promise<{ client: TestClient; first: { type: string; code?: string } }> {
  const client = new TestClient(`${base}/ws/${id}`, 'chorus.v1', { headers: { 'x-forwarded-for': forwardedFor } });
  return { client, first: JSON.parse(await client.next()) as { type: string; code?: string } };
}

t.test('behind a trusted proxy, the per-address limit counts the forwarded addresses', async (t) => {
  const server = await startInProcess({ TRUST_PROXY: 'loopback', MAX_CONNECTIONS_PER_IP: '1' });
  t.teardown(() => server.stop());
  const a = await connectFrom(server.base, 'fa', '203.0.113.1');
  const b = await connectFrom(server.base, 'fb', '203.0.113.2');
  t.equal(a.first.type, 'welcome');
  t.equal(b.first.type, 'welcome', 'another client behind the same proxy is not counted with the first');
  const c = await connectFrom(server.base, 'fc', '198.51.100.7, 203.0.113.1');
  t.match(
    c.first,
    { type: 'error', code: 'TOO_MANY_CONNECTIONS' },
    'the nearest untrusted address counts: a client cannot prepend its way out',
  );
  t.equal((await c.client.closed).code, 1013);
  await Promise.all([a.client.close(), b.client.close()]);
});

t.test('without TRUST_PROXY, X-Forwarded-For changes nothing', async (t) => {
  const server = await startInProcess({ MAX_CONNECTIONS_PER_IP: '1' });
  t.teardown(() => server.stop());
  const a = await connectFrom(server.base, 'na', '203.0.113.1');
  t.equal(a.first.type, 'welcome');
  const b = await connectFrom(server.base, 'nb', '203.0.113.2');
  t.match(b.first, { type: 'error', code: 'TOO_MANY_CONNECTIONS' }, 'both come from 127.0.0.1, whatever the header says');
  t.equal((await b.client.closed).code, 1013);
  await a.client.close();
});
