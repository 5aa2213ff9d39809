import { createConnection } from 'node:net';
import { Redis } from 'ioredis';
import t from 'tap';
import { commandsBetween, parseCommandStats, totalCalls } from '../../bench/dist/services/commandstats.js';
import { RedisServer } from '../../bench/dist/services/redis-server.js';
import { startTime } from '../../bench/dist/proc.js';

/** Whether something accepts TCP connections on 127.0.0.1:port now. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

t.test('a private redis-server starts on a free port, answers, and is gone once stopped', async (t) => {
  const [one, two] = await Promise.all([RedisServer.start(), RedisServer.start()]);
  t.teardown(() => Promise.all([one.stop(), two.stop()]));
  t.not(one.port, two.port, 'two servers, two ports');
  t.equal(one.url, `redis://127.0.0.1:${one.port}`);

  const client = new Redis(one.url);
  t.teardown(() => client.disconnect());
  t.equal(await client.ping(), 'PONG', 'it answers at its URL');
  t.same(await client.config('GET', 'save'), ['save', ''], 'it saves nothing');

  const pid = one.pid;
  t.ok(startTime(pid) !== null, 'its process runs');
  t.equal(await one.stop(), true, 'SIGTERM was enough');
  t.equal(startTime(pid), null, 'its process is gone');
  t.equal(one.running, false);
  t.equal(await accepts(one.port), false, 'its port is closed');
  t.equal(await accepts(two.port), true, 'the other one still runs');
});

t.test('INFO commandstats of a real redis-server: calls by command between two readings', async (t) => {
  const server = await RedisServer.start();
  t.teardown(() => server.stop());
  const client = new Redis(server.url);
  t.teardown(() => client.disconnect());
  await client.ping();

  // The raw text as redis-server writes it, parsed on its own.
  const raw = await client.info('commandstats');
  t.match(raw, /^# Commandstats/m);
  t.ok(parseCommandStats(raw).ping! >= 1, 'the ping is counted');
  t.same(parseCommandStats('# Server\r\nredis_version:7.0.15\r\n'), {}, 'other sections are ignored');

  const before = await server.commandCalls();
  for (let i = 0; i < 3; i++) await client.publish('chan', `m${i}`);
  await client.set('k', 'v');
  await client.set('k', 'w');
  await client.hset('h', 'f', '1');
  const after = await server.commandCalls();
  const between = commandsBetween(before, after);
  t.same(between, { publish: 3, set: 2, hset: 1 }, "exactly the commands sent meanwhile; the reader's own info is left out");
  t.equal(totalCalls(between), 6);
  t.same(commandsBetween({ set: 10 }, { set: 4 }), { set: 4 }, 'a counter that went back (CONFIG RESETSTAT) counts from zero');
});

t.test('a missing redis-server binary is a readable error', async (t) => {
  await t.rejects(RedisServer.start({ binary: '/nonexistent/redis-server' }), /could not be started: .*ENOENT.*is redis-server installed/);
});
