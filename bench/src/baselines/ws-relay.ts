/**
 * Baseline: the smallest honest WebSocket relay, plain `ws` in one process.
 * It is the Node limit on this machine, not a product: no validation beyond
 * JSON.parse, no acks, no presence. Nothing in it is tuned for or against
 * anyone; it does what a developer would write in ten minutes.
 *
 *   GET /ws/:id                          one connection per id (a taken id is closed with 4409)
 *   {"to":"bob","text":"hi"}            -> bob gets {"from":"alice","text":"hi"}
 *   {"to":null,"text":"hi"}             -> everyone else gets {"from":"alice","text":"hi"}
 *   {"join":"r1"}                       joins room r1 (created on first join); answered {"joined":"r1"}
 *   {"room":"r1","text":"hi"}           -> the other members of r1 get {"from":"alice","room":"r1","text":"hi"}
 *
 * Prints one JSON line {"msg":"listening","port":N} when ready (PORT=0 picks a free port)
 * and exits when its stdin closes, so it never outlives the bench.
 */
import { createServer } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';

interface Inbound {
  to?: string | null;
  text?: string;
  join?: string;
  room?: string;
}

const clients = new Map<string, WebSocket>();
const rooms = new Map<string, Set<WebSocket>>();

const http = createServer((_req, res) => res.writeHead(426).end());
const wss = new WebSocketServer({ server: http });

wss.on('connection', (socket, request) => {
  const id = decodeURIComponent((request.url ?? '').replace(/^\/ws\//, ''));
  if (!id || clients.has(id)) return socket.close(4409, 'id taken');
  clients.set(id, socket);
  const joined = new Set<Set<WebSocket>>();

  socket.on('message', (data) => {
    let msg: Inbound;
    try {
      msg = JSON.parse(data.toString()) as Inbound;
    } catch {
      return;
    }
    if (typeof msg.join === 'string') {
      let room = rooms.get(msg.join);
      if (!room) rooms.set(msg.join, (room = new Set()));
      room.add(socket);
      joined.add(room);
      socket.send(JSON.stringify({ joined: msg.join }));
      return;
    }
    if (typeof msg.room === 'string') {
      const out = JSON.stringify({ from: id, room: msg.room, text: msg.text });
      for (const member of rooms.get(msg.room) ?? []) if (member !== socket) member.send(out);
      return;
    }
    const out = JSON.stringify({ from: id, text: msg.text });
    if (msg.to) {
      clients.get(msg.to)?.send(out);
      return;
    }
    for (const client of clients.values()) if (client !== socket) client.send(out);
  });
  socket.on('close', () => {
    if (clients.get(id) === socket) clients.delete(id);
    for (const room of joined) room.delete(socket);
  });
  socket.on('error', () => socket.terminate());
});

http.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port, pid: process.pid })}\n`);
});

process.stdin.on('end', () => process.exit(0)).resume();
process.on('SIGTERM', () => process.exit(0));
