/**
 * Baseline: what a user would pick instead of Chorus. Socket.IO 4 in a Node
 * cluster, set up as its documentation shows: @socket.io/sticky in the primary
 * (least-connection balancing) and @socket.io/cluster-adapter between the
 * workers, with the IPC serialization the adapter's README sets ("advanced":
 * sticky hands each connection's first bytes to the worker as a Buffer, which
 * Node's default JSON serialization turns into a plain object). Default
 * options everywhere else.
 *
 *   io(url, { auth: { id } })                    joins the room named after its id
 *   server emits 'welcome' {node}               the worker's pid (lets the bench split pairs across workers)
 *   emit('send', {to, text})                    to: id -> io.to(id); null -> socket.broadcast
 *   emit('join', room, ack) / emit('room', {room, text})   rooms of the room scenario
 *   clients receive 'message' {from, text, room?}
 *
 * WORKERS (default 2). Prints {"msg":"listening","port":N} once every worker is
 * ready; exits when its stdin closes.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { createAdapter, setupPrimary } from '@socket.io/cluster-adapter';
import { setupMaster, setupWorker } from '@socket.io/sticky';
import { Server } from 'socket.io';
import { serveChat } from './socketio-chat.js';

if (cluster.isPrimary) {
  const workers = Number(process.env.WORKERS ?? 2);
  cluster.setupPrimary({ serialization: 'advanced' });
  const http = createServer();
  setupMaster(http, { loadBalancingMethod: 'least-connection' });
  setupPrimary();
  let ready = 0;
  cluster.on('message', (_worker, message: unknown) => {
    if ((message as { bench?: string } | null)?.bench !== 'ready' || ++ready !== workers) return;
    http.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
      const address = http.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      process.stdout.write(`${JSON.stringify({ msg: 'listening', port, pid: process.pid, workers })}\n`);
    });
  });
  for (let i = 0; i < workers; i++) cluster.fork();
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    process.exit(0);
  };
  process.stdin.on('end', stop).resume();
  process.on('SIGTERM', stop);
} else {
  const io = new Server(createServer());
  io.adapter(createAdapter());
  setupWorker(io);
  serveChat(io);
  process.send?.({ bench: 'ready' });
  process.on('SIGTERM', () => process.exit(0));
}
