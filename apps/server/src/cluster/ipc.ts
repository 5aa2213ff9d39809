import { z } from 'zod';

/**
 * Sends `message` to the primary from a cluster worker; false when there is
 * no channel (not a worker, or the primary is gone). The primary can still go
 * away between the check and the write: the write's error is dropped, and the
 * caller learns of it from 'disconnect' (the worker exits with its primary).
 */
export function postToPrimary(message: unknown): boolean {
  if (!process.send || !process.connected) return false;
  process.send(message, undefined, {}, () => {});
  return true;
}

/** Every IPC message of ours carries this tag; messages without it are someone else's and ignored. */
const tag = z.literal('chorus');
const workerId = z.number().int().positive();
const clientId = z.string().min(1).max(64);
const room = z.string().min(1).max(32);

export const REQUEST_OPS = ['admit', 'release', 'locate', 'stats', 'create-room', 'join-room', 'leave-room', 'delete-room'] as const;

/** worker -> primary */
export const WorkerMessage = z.discriminatedUnion('type', [
  z.object({ ch: tag, type: z.literal('hello'), meshPath: z.string() }),
  z.object({ ch: tag, type: z.literal('listening'), port: z.number().int() }),
  z.object({ ch: tag, type: z.literal('fatal'), message: z.string() }),
  /** With Redis: the worker is this node of the service (the primary releases it at once if the worker dies). */
  z.object({ ch: tag, type: z.literal('redis-node'), node: z.string().min(1).max(100) }),
  /** The worker has added peer `id` to its mesh. */
  z.object({ ch: tag, type: z.literal('peer-ack'), id: workerId }),
  z.object({
    ch: tag,
    type: z.literal('request'),
    rid: z.number().int(),
    op: z.enum(REQUEST_OPS),
    clientId: clientId.optional(),
    room: room.optional(),
    ip: z.string().max(64).optional(),
    multi: z.boolean().optional(),
  }),
]);
export type WorkerMessage = z.infer<typeof WorkerMessage>;
export type WorkerRequestOp = (typeof REQUEST_OPS)[number];

export const RoomChangeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('created'), room, owner: clientId }),
  z.object({ kind: z.literal('joined'), room, clientId }),
  z.object({ kind: z.literal('left'), room, clientId }),
  z.object({ kind: z.literal('deleted'), room, by: clientId, members: z.array(clientId) }),
]);

/** One change of the shared state: a connection of a client on a worker came (`add`) or went, or a room change. */
export const StateChange = z.discriminatedUnion('t', [
  z.object({ t: z.literal('p'), clientId, worker: workerId, add: z.boolean(), crashed: z.boolean() }),
  z.object({ t: z.literal('r'), change: RoomChangeSchema }),
]);
export type StateChange = z.infer<typeof StateChange>;

const RoomSnapshot = z.array(z.object({ name: room, owner: clientId, members: z.array(clientId) }));

/** primary -> worker */
export const PrimaryMessage = z.discriminatedUnion('type', [
  z.object({
    ch: tag,
    type: z.literal('init'),
    workerId,
    peers: z.array(z.object({ id: workerId, meshPath: z.string() })),
    directory: z.array(z.tuple([clientId, workerId])),
    rooms: RoomSnapshot,
  }),
  z.object({ ch: tag, type: z.literal('peer-up'), id: workerId, meshPath: z.string() }),
  z.object({ ch: tag, type: z.literal('peer-down'), id: workerId }),
  /** Batched changes, in the order the primary applied them. */
  z.object({ ch: tag, type: z.literal('changes'), changes: z.array(StateChange) }),
  z.object({ ch: tag, type: z.literal('reply'), rid: z.number().int(), value: z.unknown() }),
]);
export type PrimaryMessage = z.infer<typeof PrimaryMessage>;

/** The shape of each request's reply value. */
export const ReplyValue = {
  admit: z.enum(['admitted', 'full', 'taken', 'too-many']),
  release: z.null(),
  locate: workerId.nullable(),
  stats: z.object({
    clients: z.number().int(),
    maxClients: z.number().int(),
    workers: z.array(z.object({ id: z.number().int(), pid: z.number().int(), clients: z.number().int() })),
  }),
  'create-room': z.enum(['created', 'exists']),
  'join-room': z.enum(['joined', 'not-found']),
  'leave-room': z.enum(['left', 'not-member', 'not-found']),
  'delete-room': z.enum(['deleted', 'not-owner', 'not-found']),
} as const satisfies Record<WorkerRequestOp, z.ZodType>;

/** Parses a message from the other side, or returns null for anything that is not ours. */
export function parseIpc<S extends z.ZodType>(schema: S, message: unknown): z.output<S> | null {
  if (typeof message !== 'object' || message === null || (message as { ch?: unknown }).ch !== 'chorus') return null;
  const parsed = schema.safeParse(message);
  return parsed.success ? parsed.data : null;
}
