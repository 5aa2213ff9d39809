import { roomNameProblem, type ErrorCode } from '@chorus/protocol';
import type { RoomService, StateView } from './backend.js';
import type { Connection } from './connection.js';
import type { Command } from './events.js';

export type RoomCommand = Extract<Command, { kind: 'create-room' | 'join-room' | 'leave-room' | 'delete-room' }>;

/** Runs one room command for `connection` against the shared rooms, and answers it (or says why not). */
export async function runRoomCommand(
  connection: Connection,
  command: RoomCommand,
  rooms: RoomService & { readonly view: StateView },
  /** Told once a room is deleted (its files go with it). */
  onDeleted?: (room: string) => void,
): Promise<void> {
  const { clientId } = connection;
  const { room, ref } = command;
  const problem = roomNameProblem(room);
  if (problem && command.kind === 'create-room') {
    return connection.emit({ kind: 'error', code: 'BAD_ROOM_NAME', detail: problem, ref });
  }
  const fail = (code: ErrorCode) => connection.emit({ kind: 'error', code, detail: room, ref });
  switch (command.kind) {
    case 'create-room': {
      if ((await rooms.createRoom(room, clientId)) === 'exists') return fail('ROOM_EXISTS');
      return connection.emit({ kind: 'room', ref, name: room, owner: clientId, members: [clientId], created: true });
    }
    case 'join-room': {
      const joined = await rooms.joinRoom(room, clientId);
      if (joined === 'not-found') return fail('ROOM_NOT_FOUND');
      return connection.emit({ kind: 'room', ref, name: room, owner: joined.owner, members: [...joined.members].sort(), created: false });
    }
    case 'leave-room': {
      const left = await rooms.leaveRoom(room, clientId);
      if (left === 'not-found') return fail('ROOM_NOT_FOUND');
      if (left === 'not-member') return fail('NOT_ROOM_MEMBER');
      return connection.emit({ kind: 'room-left', ref, room });
    }
    case 'delete-room': {
      const deleted = await rooms.deleteRoom(room, clientId);
      if (deleted === 'not-found') return fail('ROOM_NOT_FOUND');
      if (deleted === 'not-owner') {
        const owner = rooms.view.room(room)?.owner ?? 'its owner';
        return connection.emit({ kind: 'error', code: 'NOT_ROOM_OWNER', detail: `${room} belongs to ${owner}`, ref });
      }
      onDeleted?.(room);
      return connection.emit({ kind: 'room-deleted', reply: true, ref, room, by: clientId });
    }
  }
}
