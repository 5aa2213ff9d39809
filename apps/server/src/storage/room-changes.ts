import type { Kysely } from 'kysely';
import { roomConversation } from '@chorus/protocol';
import { deleteReceiptCountsOf } from './progress-rows.js';
import { byCodeUnits } from './rows.js';
import type { StorageDatabase } from './schema.js';
import type { StoredRoom, StoredRoomChange } from './storage.js';

/**
 * Applies one room change inside the caller's transaction, with the same
 * meaning as RoomRegistry.apply, so that a registry rebuilt from loadRooms()
 * equals the one that produced the changes: `created` starts the room afresh
 * (owner set, no members; the owner's `joined` follows), a join to a room
 * that does not exist is ignored, `deleted` removes the room, its members and
 * its messages with their receipt counts (not its seq counter).
 * Every change is idempotent, so replaying a sequence is harmless.
 */
export async function applyRoomChange(tx: Kysely<StorageDatabase>, change: StoredRoomChange): Promise<void> {
  switch (change.kind) {
    case 'created':
      await tx.deleteFrom('room_members').where('room', '=', change.room).execute();
      await tx
        .insertInto('rooms')
        .values({ name: change.room, owner: change.owner })
        .onConflict((oc) => oc.column('name').doUpdateSet({ owner: change.owner }))
        .execute();
      return;
    case 'joined':
      await tx
        .insertInto('room_members')
        .columns(['room', 'client_id'])
        .expression((eb) =>
          eb
            .selectFrom('rooms')
            .select((eb) => [eb.ref('name').as('room'), eb.val(change.clientId).as('client_id')])
            .where('name', '=', change.room),
        )
        .onConflict((oc) => oc.doNothing())
        .execute();
      return;
    case 'left':
      await tx.deleteFrom('room_members').where('room', '=', change.room).where('client_id', '=', change.clientId).execute();
      return;
    case 'deleted':
      await tx.deleteFrom('room_members').where('room', '=', change.room).execute();
      await tx.deleteFrom('rooms').where('name', '=', change.room).execute();
      // The room's messages go with it: a room made later under the same name must not
      // show them. Its seq counter stays, so the new room's seqs follow the old ones and
      // no client cursor mistakes a new message for one it already has.
      await deleteReceiptCountsOf(tx, roomConversation(change.room));
      // And their reactions (migration 0006).
      await tx
        .deleteFrom('reactions')
        .where('message_id', 'in', (eb) => eb.selectFrom('messages').select('id').where('conversation', '=', roomConversation(change.room)))
        .execute();
      await tx.deleteFrom('messages').where('conversation', '=', roomConversation(change.room)).execute();
      return;
  }
}

/**
 * Every room with its members: rooms by name, members by id (sorted here, by
 * UTF-16 code units, because the two databases' collations would differ).
 */
export async function loadRooms(db: Kysely<StorageDatabase>): Promise<StoredRoom[]> {
  // One statement, so that it reads one consistent snapshot of both tables.
  const rows = await db
    .selectFrom('rooms')
    .leftJoin('room_members', 'room_members.room', 'rooms.name')
    .select(['rooms.name', 'rooms.owner', 'room_members.client_id'])
    .execute();
  const rooms = new Map<string, { name: string; owner: string; members: string[] }>();
  for (const row of rows) {
    let room = rooms.get(row.name);
    if (!room) rooms.set(row.name, (room = { name: row.name, owner: row.owner, members: [] }));
    if (row.client_id !== null) room.members.push(row.client_id);
  }
  for (const room of rooms.values()) room.members.sort(byCodeUnits);
  return [...rooms.values()].sort((a, b) => byCodeUnits(a.name, b.name));
}
