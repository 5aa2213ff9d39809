/**
 * A shutdown is not held open by the clients it says goodbye to. They are
 * closed with 1001 and reconnect at once (as the browser does). In a cluster
 * the primary holds the listening socket, so until a worker has closed its
 * server those reconnects reach the stopping worker: they are refused (503
 * SHUTTING_DOWN, retryable), never welcomed. A welcomed one would keep the
 * worker's close waiting until the primary kills it at its stop deadline.
 */
import t from 'tap';
import WebSocket from 'ws';
import { startApp } from '../helpers/spawn-app.js';

type Outcome = 'welcome' | `http ${number}` | `close ${number}` | `error ${string}`;

/** One connection attempt: what it came to first (a welcome is closed at once by the client). */
function attempt(url: string, onClose?: (code: number) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, 'chorus.v1');
    socket.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type === 'welcome') resolve('welcome');
    });
    socket.on('unexpected-response', (_request, response) => {
      resolve(`http ${response.statusCode ?? 0}`);
      socket.terminate();
    });
    socket.on('close', (code) => {
      resolve(`close ${code}`);
      onClose?.(code);
    });
    socket.on('error', (err) => resolve(`error ${(err as NodeJS.ErrnoException).code ?? err.message}`));
  });
}

t.test('clients that reconnect the moment they are closed do not hold a stopping cluster open', async (t) => {
  const server = await startApp('server', { WORKERS: '2' });
  const clients = 200;
  const firstCloses: number[] = [];
  const reconnects: Promise<Outcome>[] = [];
  const closed: Promise<void>[] = [];
  const url = (i: number) => `ws://127.0.0.1:${server.port}/ws/storm${i}`;
  const welcomed = await Promise.all(
    Array.from({ length: clients }, (_, i) => {
      let done!: () => void;
      closed.push(new Promise<void>((resolve) => (done = resolve)));
      return attempt(url(i), (code) => {
        firstCloses.push(code);
        // Straight back: the port stays open while the workers close.
        reconnects.push(attempt(url(i)));
        done();
      });
    }),
  );
  t.same(new Set(welcomed), new Set(['welcome']), 'everyone is in');

  const exitCode = await server.stop('SIGTERM');
  await Promise.all(closed);
  t.equal(exitCode, 0, 'the server exited cleanly');
  t.same(firstCloses, Array(clients).fill(1001), 'every client was told 1001 (going away: reconnect)');
  const outcomes = await Promise.all(reconnects);
  t.same(
    outcomes.filter((o) => o === 'welcome'),
    [],
    'no reconnect was welcomed by the stopping server',
  );
  for (const outcome of new Set(outcomes))
    t.match(outcome, /^(http 503|close 1001|error (ECONNREFUSED|ECONNRESET))$/, 'refused as retryable');
  t.same(
    server.logs.filter((line) => line.msg === 'worker missed its stop deadline and was killed'),
    [],
    'no worker had to be killed',
  );
});
