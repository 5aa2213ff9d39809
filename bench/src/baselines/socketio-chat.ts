import type { Server } from 'socket.io';

interface SendPayload {
  to?: string | null;
  text?: string;
}
interface RoomPayload {
  room?: string;
  text?: string;
}

/**
 * The chat both Socket.IO baselines serve, whatever their adapter (cluster or
 * Redis): each client joins a room named by its id, so a private message is
 * `io.to(id)`; lobby messages are broadcasts; rooms are `room:<name>`. The
 * events are the ones the bench's socketio load client speaks.
 */
export function serveChat(io: Server): void {
  const node = String(process.pid);
  io.on('connection', (socket) => {
    const id = String((socket.handshake.auth as { id?: unknown }).id ?? socket.id);
    void socket.join(id);
    socket.emit('welcome', { node });
    socket.on('send', (msg: SendPayload) => {
      const out = { from: id, text: msg.text };
      if (msg.to) io.to(msg.to).emit('message', out);
      else socket.broadcast.emit('message', out);
    });
    socket.on('join', (room: string, ack?: () => void) => {
      void socket.join(`room:${room}`);
      ack?.();
    });
    socket.on('room', (msg: RoomPayload) => {
      socket.to(`room:${msg.room}`).emit('message', { from: id, room: msg.room, text: msg.text });
    });
  });
}
