import { z } from 'zod';
import { ClientId } from './client-id.js';
import { ERROR_CODES } from './errors.js';
import { FileId, FileInfo, MAX_FILES_PER_MESSAGE } from './files.js';
import { RoomName } from './room-name.js';

/** The WebSocket subprotocol that selects the JSON protocol. */
export const SUBPROTOCOL = 'chorus.v1';
/**
 * A subprotocol naming the text protocol, for clients that must offer one (a
 * client offering `auth.<token>` needs a protocol the server can select).
 */
export const TEXT_SUBPROTOCOL = 'chorus.text';

/** Longest message text, in UTF-16 code units, the JSON protocol accepts. */
export const MAX_TEXT_LENGTH = 10_000;
/** Most ids a welcome lists as online (a big lobby sends a count and the first ones). */
export const MAX_WELCOME_ONLINE = 1_000;
/** Most message ids one receipt frame may carry. */
export const MAX_RECEIPT_IDS = 200;

/**
 * Text that can be stored and shown as sent: well-formed Unicode (no lone
 * surrogates, which would come back as U+FFFD) and no NUL (PostgreSQL cannot
 * store it).
 */
export function textProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'text may not contain NUL characters';
  if (!text.isWellFormed()) return 'text must be well-formed Unicode (no lone surrogates)';
  return null;
}
const storableText = (schema: z.ZodString) =>
  schema.refine((s) => textProblem(s) === null, { message: 'text must be well-formed Unicode without NUL characters' });

/** A client-chosen reference that the server echoes in acks and errors. */
export const ClientRef = storableText(z.string().min(1).max(64));
/** Milliseconds since the Unix epoch, up to the year 9999. */
export const EpochMs = z.number().int().nonnegative().max(253_402_300_799_999);
/** A server message id. */
export const MessageId = z.string().min(1).max(64);

// ---- client -> server ------------------------------------------------------

/** Send `text` to one client (`to`), to a room (`room`), or, with neither, to everyone. */
export const SendFrame = z
  .strictObject({
    type: z.literal('send'),
    id: ClientRef,
    to: ClientId.nullish(),
    room: RoomName.nullish(),
    text: storableText(z.string().max(MAX_TEXT_LENGTH)),
    sentAt: EpochMs,
    /** The message this one answers: it must be in the same conversation and not deleted. */
    replyTo: MessageId.optional(),
    /** Uploads (`POST /files`) to share with the message; with files the text may be empty. */
    files: z.array(FileId).max(MAX_FILES_PER_MESSAGE).optional(),
  })
  .refine((f) => f.text.length > 0 || (f.files?.length ?? 0) > 0, { message: 'text must not be empty', path: ['text'] })
  .refine((f) => !(f.to && f.room), { message: 'give either to or room, not both', path: ['room'] });

/** Replace the text of a message of yours. Answered with `ack` (its `id`: the edit's), and an `action` frame to everyone concerned. */
export const EditFrame = z.strictObject({
  type: z.literal('edit'),
  id: ClientRef,
  message: MessageId,
  text: storableText(z.string().min(1).max(MAX_TEXT_LENGTH)),
});

/** Delete a message of yours (or any message in a room you own). Answered like `edit`. */
export const DeleteMessageFrame = z.strictObject({ type: z.literal('delete'), id: ClientRef, message: MessageId });

// The emoji is checked by the server (BAD_EMOJI, not BAD_FRAME), so that an
// empty or wrong one gets an answer that says what is wrong with it.
const reactionCommand = <T extends string>(type: T) =>
  z.strictObject({ type: z.literal(type), id: ClientRef, message: MessageId, emoji: z.string().max(64) });
/** Add your reaction `emoji` to a message. Answered like `edit`. */
export const ReactFrame = reactionCommand('react');
/** Take your reaction `emoji` back. Answered like `edit`. */
export const UnreactFrame = reactionCommand('unreact');

/** Asks for the server's clock; answered with `pong`. */
export const PingFrame = z.strictObject({
  type: z.literal('ping'),
  id: ClientRef.optional(),
  sentAt: EpochMs,
});

const roomCommand = <T extends string>(type: T) => z.strictObject({ type: z.literal(type), id: ClientRef.optional(), room: RoomName });

/** Create a room: you become its owner and first member. Answered with `room`. */
export const CreateRoomFrame = roomCommand('create-room');
/** Join a room (joining one you are in is fine). Answered with `room`. */
export const JoinRoomFrame = roomCommand('join-room');
/** Leave a room. Answered with `room-left`. */
export const LeaveRoomFrame = roomCommand('leave-room');
/** Delete a room you own; its members are told and removed. Answered with `room-deleted`. */
export const DeleteRoomFrame = roomCommand('delete-room');
/** List every room with its member count. Answered with `rooms`. */
export const ListRoomsFrame = z.strictObject({ type: z.literal('list-rooms'), id: ClientRef.optional() });

/** Tell the sender of messages that they reached this client (`delivered`) or were seen (`read`). */
export const ReceiptFrame = z.strictObject({
  type: z.literal('receipt'),
  status: z.enum(['delivered', 'read']),
  /** The sender of the messages (a receipt frame is about one sender's messages). */
  from: ClientId,
  ids: z.array(MessageId).min(1).max(MAX_RECEIPT_IDS),
});

/** This client is (or stopped) typing to `to` or in `room` (or, with neither, in the lobby). */
export const TypingFrame = z
  .strictObject({
    type: z.literal('typing'),
    to: ClientId.nullish(),
    room: RoomName.nullish(),
    active: z.boolean(),
  })
  .refine((f) => !(f.to && f.room), { message: 'give either to or room, not both', path: ['room'] });

/** A conversation: `everyone` (the lobby), `room:<name>`, or `dm:<a>,<b>` (the two ids sorted). */
export const ConversationId = z
  .string()
  .regex(/^(everyone|room:[a-z0-9_.-]{1,32}|dm:[A-Za-z0-9_.@-]{1,64},[A-Za-z0-9_.@-]{1,64})$/, 'not a conversation id');
/** Largest page `history` returns. */
export const MAX_HISTORY_PAGE = 200;

/** Page back through a conversation you belong to: newest first, before `before` (a seq). Answered with `history`. */
export const HistoryFrame = z.strictObject({
  type: z.literal('history'),
  id: ClientRef.optional(),
  conversation: ConversationId,
  before: z.number().int().positive().optional(),
  limit: z.number().int().min(1).max(MAX_HISTORY_PAGE).optional(),
});

/**
 * After connecting with `?resume=1`: the last seq seen per conversation. The
 * server sends what was missed, in order, then `resumed`, then live traffic.
 */
export const ResumeFrame = z.strictObject({
  type: z.literal('resume'),
  cursors: z.record(ConversationId, z.number().int().nonnegative()).refine((c) => Object.keys(c).length <= 1000, 'at most 1000 cursors'),
});

export const ClientFrame = z.discriminatedUnion('type', [
  HistoryFrame,
  ResumeFrame,
  SendFrame,
  PingFrame,
  CreateRoomFrame,
  JoinRoomFrame,
  LeaveRoomFrame,
  DeleteRoomFrame,
  ListRoomsFrame,
  ReceiptFrame,
  TypingFrame,
  EditFrame,
  DeleteMessageFrame,
  ReactFrame,
  UnreactFrame,
]);
export type ClientFrame = z.infer<typeof ClientFrame>;
export type SendFrame = z.infer<typeof SendFrame>;
export type PingFrame = z.infer<typeof PingFrame>;
export type ReceiptFrame = z.infer<typeof ReceiptFrame>;
export type TypingFrame = z.infer<typeof TypingFrame>;
export type HistoryFrame = z.infer<typeof HistoryFrame>;
export type ResumeFrame = z.infer<typeof ResumeFrame>;
export type EditFrame = z.infer<typeof EditFrame>;
export type DeleteMessageFrame = z.infer<typeof DeleteMessageFrame>;
export type ReactFrame = z.infer<typeof ReactFrame>;

// ---- server -> client ------------------------------------------------------

/** A room as listed: its name, owner and how many members it has. */
export const RoomSummary = z.strictObject({
  name: z.string(),
  owner: ClientId,
  members: z.number().int().nonnegative(),
});
export type RoomSummary = z.infer<typeof RoomSummary>;

/** First frame of every accepted JSON connection. */
export const WelcomeFrame = z.strictObject({
  type: z.literal('welcome'),
  protocol: z.literal(SUBPROTOCOL),
  clientId: ClientId,
  /** The server's clock when the frame was written. */
  serverAt: EpochMs,
  /** Which server process holds this connection (for logs and support). */
  node: z.string(),
  /**
   * Who is online, the client included: everyone, or the first MAX_WELCOME_ONLINE
   * when more are (`onlineCount` says how many); presence frames update it.
   */
  online: z.array(ClientId),
  onlineCount: z.number().int().nonnegative(),
  /** Every room, with member counts. */
  rooms: z.array(RoomSummary),
  /** The rooms this client is a member of. */
  memberOf: z.array(z.string()),
  limits: z.strictObject({
    maxTextLength: z.number().int(),
    maxFrameBytes: z.number().int(),
    /**
     * How many frames a second this connection may send, and the burst above
     * that: every frame counts (sends, receipts, typing, pings, ...). A client
     * that paces itself to it is never answered RATE_LIMITED. Absent: the
     * server does not limit frames.
     */
    frameRate: z.strictObject({ perSecond: z.number().positive(), burst: z.number().int().positive() }).optional(),
  }),
  /**
   * Present when the server takes files: the ticket that authenticates this
   * client's uploads (`Authorization: Bearer <ticket>` on `POST /files`; it is
   * honoured only while this client is connected) and the limits.
   */
  uploads: z
    .strictObject({
      ticket: z.string().min(1),
      expiresAt: EpochMs,
      maxBytes: z.number().int().positive(),
      maxFilesPerMessage: z.number().int().positive().max(MAX_FILES_PER_MESSAGE),
    })
    .optional(),
});

/**
 * Receipt counts of a message of yours, as history and resume bring it back
 * (live changes come in `receipts` frames): how many clients it was for (the
 * M of "read by N of M"), how many have it, how many have seen it.
 */
export const MessageReceipts = z.strictObject({
  recipients: z.number().int().nonnegative(),
  delivered: z.number().int().nonnegative(),
  read: z.number().int().nonnegative(),
});
export type MessageReceipts = z.infer<typeof MessageReceipts>;

/** Longest quote of the answered message a reply carries. */
export const MAX_REPLY_PREVIEW = 200;

/** What a reply answers: the message's id, place, sender and the start of its text ('' once deleted). */
export const ReplyRef = z.strictObject({
  id: MessageId,
  seq: z.number().int().positive(),
  from: ClientId,
  text: z.string().max(MAX_REPLY_PREVIEW),
});
export type ReplyRef = z.infer<typeof ReplyRef>;

/** One emoji on a message and who reacted with it, in the order they did. */
export const Reaction = z.strictObject({ emoji: z.string(), by: z.array(ClientId).min(1) });
export type Reaction = z.infer<typeof Reaction>;

/** A chat message delivered to its recipients (and nobody else). */
export const MessageFrame = z.strictObject({
  type: z.literal('message'),
  /** The server's id of this message. */
  id: MessageId,
  from: ClientId,
  /** The recipient of a private message; null otherwise. */
  to: ClientId.nullable(),
  /** The room of a room message; null otherwise. */
  room: z.string().nullable(),
  /** The conversation it belongs to (`everyone`, `room:<name>`, `dm:<a>,<b>`). */
  conversation: ConversationId,
  /** Its place in the conversation: 1, 2, 3, ... without gaps. A client keeps one copy per (conversation, seq). */
  seq: z.number().int().positive(),
  text: z.string(),
  /** The sender's clock when it sent the message. */
  sentAt: EpochMs,
  /** The server's clock when it accepted the message. */
  serverAt: EpochMs,
  /**
   * Only on a message of your own in a `history` page or a resume replay, once
   * it has had receipts: its counts, so that a reload shows the right ticks.
   */
  receipts: MessageReceipts.optional(),
  /** The message it answers. */
  replyTo: ReplyRef.optional(),
  /** In history and replays: when its text was last edited (server clock). */
  editedAt: EpochMs.optional(),
  /** In history and replays: it was deleted (its text is then ''). */
  deleted: z.literal(true).optional(),
  /** In history: its reactions (absent: none). */
  reactions: z.array(Reaction).optional(),
  /** The files shared with it, when there are any. */
  files: z.array(FileInfo).optional(),
});

/**
 * An edit, delete or reaction, as everyone concerned by the message sees it
 * (the audience of the message itself, the actor included). It is an entry of
 * the conversation's log: it has its own `seq` (resume replays it in order),
 * and `message` names the message it acts on.
 */
export const ActionFrame = z.strictObject({
  type: z.literal('action'),
  /** The server's id of the action. */
  id: MessageId,
  action: z.enum(['edit', 'delete', 'react', 'unreact']),
  /** The message acted on. */
  message: MessageId,
  /** Who acted. */
  from: ClientId,
  conversation: ConversationId,
  seq: z.number().int().positive(),
  /** The new text (edit); the emoji (react, unreact); '' (delete). */
  text: z.string(),
  serverAt: EpochMs,
});

/** The server accepted the send (or edit, delete, react, unreact) whose `id` was `ref`. */
export const AckFrame = z.strictObject({
  type: z.literal('ack'),
  ref: ClientRef,
  id: MessageId,
  serverAt: EpochMs,
  /** How many clients the message was meant for (the sender excluded): the M of "delivered to N of M". */
  recipients: z.number().int().nonnegative(),
  conversation: ConversationId,
  seq: z.number().int().positive(),
});

/** Who came and went since the last presence frame (batched). */
export const PresenceFrame = z.strictObject({
  type: z.literal('presence'),
  joined: z.array(ClientId),
  left: z.array(ClientId),
  serverAt: EpochMs,
});

/** A room you are in: sent when you create or join it. */
export const RoomFrame = z.strictObject({
  type: z.literal('room'),
  ref: ClientRef.optional(),
  name: z.string(),
  owner: ClientId,
  members: z.array(ClientId),
});

/** Members came and went in a room you are in (batched). */
export const RoomMembersFrame = z.strictObject({
  type: z.literal('room-members'),
  room: z.string(),
  joined: z.array(ClientId),
  left: z.array(ClientId),
  serverAt: EpochMs,
});

/** You left a room (you asked, or were removed). */
export const RoomLeftFrame = z.strictObject({ type: z.literal('room-left'), ref: ClientRef.optional(), room: z.string() });

/** A room you were in was deleted by its owner; you are no longer a member. */
export const RoomDeletedFrame = z.strictObject({
  type: z.literal('room-deleted'),
  ref: ClientRef.optional(),
  room: z.string(),
  by: ClientId,
});

/** The room list: the answer to list-rooms (with `ref`), or changes pushed to everyone (batched). */
export const RoomsFrame = z.strictObject({
  type: z.literal('rooms'),
  ref: ClientRef.optional(),
  /** Rooms created or whose member count changed (for an answer: every room). */
  rooms: z.array(RoomSummary),
  /** Rooms deleted since the last push. */
  deleted: z.array(z.string()),
});

/** Receipt counts for messages you sent: how many recipients have it, and how many have seen it. */
export const ReceiptsFrame = z.strictObject({
  type: z.literal('receipts'),
  updates: z.array(z.strictObject({ id: MessageId, delivered: z.number().int().nonnegative(), read: z.number().int().nonnegative() })),
});

/** Someone is typing to you (`to`), in a room (`room`), or in the lobby (neither). */
export const TypingEventFrame = z.strictObject({
  type: z.literal('typing'),
  from: ClientId,
  to: ClientId.nullable(),
  room: z.string().nullable(),
  active: z.boolean(),
  /** Server clock after which the indicator is stale unless refreshed. */
  expiresAt: EpochMs,
});

/** A page of a conversation's history, newest first; `more` when older messages exist. */
export const HistoryPageFrame = z.strictObject({
  type: z.literal('history'),
  ref: ClientRef.optional(),
  conversation: ConversationId,
  messages: z.array(MessageFrame),
  more: z.boolean(),
  /**
   * The seqs between the page's oldest message and the conversation's end (or
   * `before`) that are actions (edits, deletes, reactions, already applied to
   * the messages): with them a client knows it holds every seq of the range.
   */
  actionSeqs: z.array(z.number().int().positive()).optional(),
});

/**
 * The replay after `resume` is complete: for each conversation, the last seq
 * sent. `truncated` lists conversations with more missed messages than one
 * replay carries (page them with `history`).
 */
export const ResumedFrame = z.strictObject({
  type: z.literal('resumed'),
  conversations: z.record(ConversationId, z.number().int().nonnegative()),
  truncated: z.array(ConversationId),
});

export const PongFrame = z.strictObject({
  type: z.literal('pong'),
  id: ClientRef.optional(),
  /** The `sentAt` of the ping, echoed so the client can measure the round trip. */
  sentAt: EpochMs,
  serverAt: EpochMs,
});

export const ErrorFrame = z.strictObject({
  type: z.literal('error'),
  code: z.enum(ERROR_CODES),
  message: z.string(),
  retryable: z.boolean(),
  /** The `id` of the client frame that caused the error, when it had one. */
  ref: ClientRef.optional(),
});

export const ServerFrame = z.discriminatedUnion('type', [
  HistoryPageFrame,
  ResumedFrame,
  WelcomeFrame,
  MessageFrame,
  ActionFrame,
  AckFrame,
  PresenceFrame,
  RoomFrame,
  RoomMembersFrame,
  RoomLeftFrame,
  RoomDeletedFrame,
  RoomsFrame,
  ReceiptsFrame,
  TypingEventFrame,
  PongFrame,
  ErrorFrame,
]);
export type ServerFrame = z.infer<typeof ServerFrame>;
export type WelcomeFrame = z.infer<typeof WelcomeFrame>;
export type MessageFrame = z.infer<typeof MessageFrame>;
export type AckFrame = z.infer<typeof AckFrame>;
export type ActionFrame = z.infer<typeof ActionFrame>;
export type PresenceFrame = z.infer<typeof PresenceFrame>;
export type RoomFrame = z.infer<typeof RoomFrame>;
export type RoomMembersFrame = z.infer<typeof RoomMembersFrame>;
export type RoomsFrame = z.infer<typeof RoomsFrame>;
export type ReceiptsFrame = z.infer<typeof ReceiptsFrame>;
export type TypingEventFrame = z.infer<typeof TypingEventFrame>;
export type HistoryPageFrame = z.infer<typeof HistoryPageFrame>;
export type ResumedFrame = z.infer<typeof ResumedFrame>;
export type PongFrame = z.infer<typeof PongFrame>;
export type ErrorFrame = z.infer<typeof ErrorFrame>;
