/**
 * Baseline: what a user would pick instead of Chorus on several machines.
 * One Socket.IO 4 node per process; the nodes share one Redis through
 * @socket.io/redis-adapter, set up as its README shows with ioredis (the
 * client the Chorus server uses): one client for publishing, its duplicate
 * for subscribing, both ready before the server listens. Default options
 * everywhere else. Start it once per node, each on its own port, with the
 * same REDIS_URL.
 *
 * The protocol is socketio-cluster.ts's, so that the bench's Socket.IO client
 * speaks to both:
 *   io(url, { auth: { id } })                    joins the room named after its id
 *   server emits 'welcome' {node}               the process's pid (lets the bench split pairs across nodes)
 *   emit('send', {to, text})                    to: id -> io.to(id); null -> socket.broadcast
 *   emit('join', room, ack) / emit('room', {room, text})   rooms of the room scenario
 *   clients receive 'message' {from, text, room?}
 *
 * REDIS_URL (required), PORT (0: a free one), HOST. Prints
 * {"msg":"listening","port":N} once Redis is connected and the server listens;
 * exits when its stdin closes or on SIGTERM, so it never outlives the bench.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { serveChat } from './socketio-chat.js';

const url = process.env.REDIS_URL;
if (!url) {
  process.stderr.write('socketio-redis: REDIS_URL is required\n');
  process.exit(2);
}

const pubClient = new Redis(url);
const subClient = pubClient.duplicate();
// An unhandled 'error' event would crash the node; a lost Redis shows up in the figures instead.
for (const client of [pubClient, subClient]) client.on('error', (err: Error) => process.stderr.write(`redis: ${err.message}\n`));
await Promise.all([once(pubClient, 'ready'), once(subClient, 'ready')]);

const http = createServer();
const io = new Server(http, { adapter: createAdapter(pubClient, subClient) });

serveChat(io);

http.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port, pid: process.pid })}\n`);
});

const stop = (): void => {
  // Closing the Redis clients first would let the adapter publish into a closed client.
  void io.close();
  Promise.allSettled([pubClient.quit(), subClient.quit()]).finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
};
process.stdin.on('end', stop).resume();
process.on('SIGTERM', stop);
