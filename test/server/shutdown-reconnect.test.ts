/**
 * A shutdown is not held open by the clients it says goodbye to. They are
 * closed with 1001 and reconnect at once (as the browser does); until the
 * listening socket closes, those reconnects can reach the stopping process.
 * They are refused (503 SHUTTING_DOWN, retryable), never admitted: an admitted
 * one would keep the close waiting until a worker is killed at its deadline.
 */
import t from 'tap';
import WebSocket from 'ws';
import { startInProcess } from '../helpers/in-process-server.js';

type Outcome = 'welcome' | `http ${number}` | `close ${number}` | `error ${string}`;

/** One reconnect attempt: what it came to first. */
function attempt(url: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, 'chorus.v1');
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string };
      if (frame.type === 'welcome') {
        resolve('welcome');
        socket.close();
      }
    });
    socket.on('unexpected-response', (_request, response) => {
      resolve(`http ${response.statusCode ?? 0}`);
      socket.terminate();
    });
    socket.on('close', (code) => resolve(`close ${code}`));
    socket.on('error', (err) => resolve(`error ${(err as NodeJS.ErrnoException).code ?? err.message}`));
  });
}

t.test('clients that reconnect the moment they are closed do not hold the shutdown open', async (t) => {
  const server = await startInProcess();
  const clients = 30;
  const firstCloses: number[] = [];
  const reconnects: Promise<Outcome>[] = [];
  await Promise.all(
    Array.from({ length: clients }, (_, i) => {
      const url = `${server.base}/ws/storm${i}`;
      return new Promise<void>((ready) => {
        const socket = new WebSocket(url, 'chorus.v1');
        socket.on('message', (data) => {
          if ((JSON.parse(String(data)) as { type: string }).type === 'welcome') ready();
        });
        socket.on('close', (code) => {
          firstCloses.push(code);
          // Straight back, on the same address: the port is still open while the server closes.
          reconnects.push(attempt(url));
        });
      });
    }),
  );

  let stopped = false;
  const stop = server.stop().then(() => {
    stopped = true;
  });
  // The bound only turns a hang into a failure; a working close ends long before.
  const bound = new Promise<void>((resolve) => setTimeout(resolve, 20_000).unref());
  await Promise.race([stop, bound]);
  t.ok(stopped, 'the close finished: no reconnect was admitted and waited for');
  await stop;
  t.same(firstCloses, Array(clients).fill(1001), 'every client was told 1001 (going away: reconnect)');
  const outcomes = await Promise.all(reconnects);
  t.equal(outcomes.length, clients);
  t.same(
    outcomes.filter((o) => o === 'welcome'),
    [],
    'no reconnect was welcomed by the stopping server',
  );
  for (const outcome of outcomes) t.match(outcome, /^(http 503|close 1001|error (ECONNREFUSED|ECONNRESET))$/, 'refused as retryable');
});
