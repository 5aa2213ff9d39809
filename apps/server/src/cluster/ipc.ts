import { z } from 'zod';

/** Every IPC message of ours carries this tag; messages without it are someone else's and ignored. */
const tag = z.literal('chorus');
const workerId = z.number().int().positive();
const clientId = z.string().min(1).max(64);

/** worker -> primary */
export const WorkerMessage = z.discriminatedUnion('type', [
  z.object({ ch: tag, type: z.literal('hello'), meshPath: z.string() }),
  z.object({ ch: tag, type: z.literal('listening'), port: z.number().int() }),
  /** The worker has added peer `id` to its mesh. */
  z.object({ ch: tag, type: z.literal('peer-ack'), id: workerId }),
  z.object({ ch: tag, type: z.literal('fatal'), message: z.string() }),
  z.object({
    ch: tag,
    type: z.literal('request'),
    rid: z.number().int(),
    op: z.enum(['admit', 'release', 'locate', 'stats']),
    clientId: clientId.optional(),
  }),
]);
export type WorkerMessage = z.infer<typeof WorkerMessage>;
export type WorkerRequestOp = Extract<WorkerMessage, { type: 'request' }>['op'];

/** One presence change in the directory: the client's worker, or null when it left. */
export const DirectoryChange = z.tuple([clientId, workerId.nullable(), z.boolean()]);
export type DirectoryChange = z.infer<typeof DirectoryChange>;

/** primary -> worker */
export const PrimaryMessage = z.discriminatedUnion('type', [
  z.object({
    ch: tag,
    type: z.literal('init'),
    workerId,
    peers: z.array(z.object({ id: workerId, meshPath: z.string() })),
    directory: z.array(z.tuple([clientId, workerId])),
  }),
  z.object({ ch: tag, type: z.literal('peer-up'), id: workerId, meshPath: z.string() }),
  z.object({ ch: tag, type: z.literal('peer-down'), id: workerId }),
  /** Batched changes [clientId, worker or null, crashed], in the order the primary applied them. */
  z.object({ ch: tag, type: z.literal('directory'), changes: z.array(DirectoryChange) }),
  z.object({ ch: tag, type: z.literal('reply'), rid: z.number().int(), value: z.unknown() }),
]);
export type PrimaryMessage = z.infer<typeof PrimaryMessage>;

/** The shape of each request's reply value. */
export const ReplyValue = {
  admit: z.enum(['admitted', 'full', 'taken']),
  release: z.null(),
  locate: workerId.nullable(),
  stats: z.object({
    clients: z.number().int(),
    maxClients: z.number().int(),
    workers: z.array(z.object({ id: z.number().int(), pid: z.number().int(), clients: z.number().int() })),
  }),
} as const satisfies Record<WorkerRequestOp, z.ZodType>;

/** Parses a message from the other side, or returns null for anything that is not ours. */
export function parseIpc<S extends z.ZodType>(schema: S, message: unknown): z.output<S> | null {
  if (typeof message !== 'object' || message === null || (message as { ch?: unknown }).ch !== 'chorus') return null;
  const parsed = schema.safeParse(message);
  return parsed.success ? parsed.data : null;
}
