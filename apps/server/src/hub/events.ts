import type { ErrorCode, FileInfo, RoomSummary } from '@chorus/protocol';
import type { RoomChange } from './room-registry.js';
import type { UploadGrant } from './message-files.js';

/** A chat message as it travels between nodes and reaches recipients (protocol-neutral). */
export interface Envelope {
  /** The server's id of the message. */
  readonly id: string;
  readonly from: string;
  /** The recipient of a private message; null otherwise. */
  readonly to: string | null;
  /** The room of a room message; null otherwise. */
  readonly room: string | null;
  /** The conversation it is stored in, and its place there. */
  readonly conversation: string;
  readonly seq: number;
  readonly text: string;
  readonly sentAt: number;
  readonly serverAt: number;
  /** The files shared with it (absent: none). */
  readonly files?: readonly FileInfo[] | undefined;
  /** The message it answers (absent: none). */
  readonly replyTo?: ReplyRef | undefined;
  /** History and replays only: the last edit, deleted, the reactions (absent: none). */
  readonly editedAt?: number | undefined;
  readonly deleted?: true | undefined;
  readonly reactions?: readonly Reaction[] | undefined;
}

/** What a reply answers: the message's id, seq, sender and the start of its text. */
export interface ReplyRef {
  readonly id: string;
  readonly seq: number;
  readonly from: string;
  readonly text: string;
}

/** One emoji on a message and who reacted with it. */
export interface Reaction {
  readonly emoji: string;
  readonly by: readonly string[];
}

/** An edit, delete or reaction: an entry of its conversation's log, acting on the message `message`. */
export interface ActionEvent {
  readonly id: string;
  readonly action: 'edit' | 'delete' | 'react' | 'unreact';
  readonly message: string;
  /** The seq of the message acted on (text clients name it by its seq). */
  readonly messageSeq: number;
  readonly from: string;
  /** As on the message's entry: a private message's action is to the other participant. */
  readonly to: string | null;
  readonly room: string | null;
  readonly conversation: string;
  readonly seq: number;
  /** The new text (edit), the emoji (react, unreact), '' (delete). */
  readonly text: string;
  readonly serverAt: number;
}

/**
 * Receipt counts that come back with a message of the client's own (history,
 * resume): delivered to N, read by N, of M recipients.
 */
export interface MessageReceipts {
  readonly recipients: number;
  readonly delivered: number;
  readonly read: number;
}

/** A recipient telling a sender its messages reached it or were seen. */
export interface Receipt {
  /** The recipient who has them. */
  readonly by: string;
  readonly status: 'delivered' | 'read';
  readonly ids: readonly string[];
}

/** Someone typing (or stopping) in a conversation. Never stored. */
export interface Typing {
  readonly from: string;
  readonly to: string | null;
  readonly room: string | null;
  readonly active: boolean;
  readonly expiresAt: number;
}

/** What travels between nodes. */
export type Payload =
  | {
      readonly kind: 'message';
      readonly envelope: Envelope;
      /**
       * Its chorus.v1 frame, when already rendered (the mesh carries it): JSON
       * sessions get these bytes as they are, and no one renders them again.
       */
      readonly json?: string | Buffer;
    }
  /** Nothing to deliver: routing it only tells whether the target client is online anywhere. */
  | { readonly kind: 'probe' }
  /** Sessions of a user were revoked (logout, password change): their live connections must end. */
  | { readonly kind: 'revoked'; readonly revocation: Revocation }
  /** Another connection takes this client's id over (`?takeover=1`): its connections must end with REPLACED. */
  | { readonly kind: 'replaced'; readonly clientId: string }
  /** Receipts for the messages of one sender (`to`), gathered over an event-loop turn of the node that routes them. */
  | { readonly kind: 'receipts'; readonly to: string; readonly receipts: readonly Receipt[] }
  | { readonly kind: 'typing'; readonly typing: Typing }
  /** An edit, delete or reaction, to the audience of its message. */
  | { readonly kind: 'action'; readonly action: ActionEvent };

/** Where it goes: one client wherever it is, the online members of a room, or everyone. */
export type Target =
  | { readonly kind: 'client'; readonly clientId: string }
  | { readonly kind: 'room'; readonly room: string }
  | { readonly kind: 'all' };

export interface Delivery {
  readonly target: Target;
  readonly payload: Payload;
  /** The connection it came from, which does not get it back (the sender's other tabs do). */
  readonly origin?: string;
}

/** Revoked sessions of one user: one session, or all but `allExcept` (null: all). */
export type Revocation =
  | { readonly user: string; readonly sessionId: string }
  | { readonly user: string; readonly allExcept: string | null };

/** A presence change somewhere in the service. */
export interface PresenceChange {
  readonly clientId: string;
  readonly online: boolean;
  /** True when the client's worker died (no goodbye of its own). */
  readonly crashed?: boolean;
}

export type { RoomChange };

/**
 * What the hub tells a session, before any protocol has rendered it. Each codec
 * renders the events its protocol knows and ignores the rest (returns null).
 */
export type OutEvent =
  | {
      readonly kind: 'welcome';
      readonly clientId: string;
      readonly online: readonly string[];
      readonly onlineCount: number;
      readonly rooms: readonly RoomSummary[];
      readonly memberOf: readonly string[];
      readonly serverAt: number;
      /** The connection's inbound frame rate, for the client to pace itself (none: unlimited). */
      readonly frameRate?: { readonly perSecond: number; readonly burst: number } | undefined;
      /** The upload ticket and limits, when the server takes files. */
      readonly uploads?: UploadGrant | undefined;
    }
  | { readonly kind: 'echo'; readonly text: string }
  | {
      readonly kind: 'ack';
      readonly ref: string;
      readonly id: string;
      readonly serverAt: number;
      readonly recipients: number;
      readonly conversation: string;
      readonly seq: number;
    }
  | {
      readonly kind: 'history';
      readonly ref?: string | undefined;
      readonly conversation: string;
      readonly messages: readonly Envelope[];
      readonly more: boolean;
      /** The action seqs of the page's range (see the frame). */
      readonly actionSeqs?: readonly number[] | undefined;
      /** Receipt counts of the requester's own messages in the page, by message id. */
      readonly receipts?: ReadonlyMap<string, MessageReceipts> | undefined;
    }
  | { readonly kind: 'resumed'; readonly conversations: Readonly<Record<string, number>>; readonly truncated: readonly string[] }
  /** `receipts`: the counts of a message of the recipient's own, replayed to it (resume). */
  | { readonly kind: 'message'; readonly envelope: Envelope; readonly receipts?: MessageReceipts | undefined }
  /** `viewer`: the client it goes to, when known (a text client names a private message by its peer). */
  | { readonly kind: 'action'; readonly action: ActionEvent; readonly viewer?: string | undefined }
  /** A text client's `/recent`: the last messages of a conversation, oldest first. */
  | { readonly kind: 'recent'; readonly conversation: string; readonly viewer: string; readonly messages: readonly Envelope[] }
  | { readonly kind: 'unknown-recipient'; readonly target: string; readonly ref?: string | undefined }
  | { readonly kind: 'presence'; readonly joined: readonly string[]; readonly left: readonly string[]; readonly serverAt: number }
  | { readonly kind: 'joined'; readonly clientId: string }
  | { readonly kind: 'left'; readonly clientId: string }
  | {
      readonly kind: 'room';
      readonly ref?: string | undefined;
      readonly name: string;
      readonly owner: string;
      readonly members: readonly string[];
      readonly created: boolean;
    }
  | { readonly kind: 'room-left'; readonly ref?: string | undefined; readonly room: string }
  | {
      readonly kind: 'room-deleted';
      readonly reply: boolean;
      readonly ref?: string | undefined;
      readonly room: string;
      readonly by: string;
    }
  | { readonly kind: 'room-member'; readonly room: string; readonly clientId: string; readonly joined: boolean }
  | {
      readonly kind: 'room-members';
      readonly room: string;
      readonly joined: readonly string[];
      readonly left: readonly string[];
      readonly serverAt: number;
    }
  | {
      readonly kind: 'rooms';
      /** True for the answer to a request (the full list); false for pushed changes. */
      readonly reply: boolean;
      readonly ref?: string | undefined;
      readonly rooms: readonly RoomSummary[];
      readonly deleted: readonly string[];
    }
  | { readonly kind: 'receipts'; readonly updates: readonly { readonly id: string; readonly delivered: number; readonly read: number }[] }
  | { readonly kind: 'typing'; readonly typing: Typing }
  | { readonly kind: 'users'; readonly online: readonly string[] }
  | { readonly kind: 'time'; readonly serverAt: number }
  /** A text client's upload ticket (JSON clients have theirs in the welcome); null: the server takes no files. */
  | { readonly kind: 'upload-ticket'; readonly grant: UploadGrant | null }
  | { readonly kind: 'help' }
  | { readonly kind: 'pong'; readonly ref?: string | undefined; readonly sentAt: number; readonly serverAt: number }
  | { readonly kind: 'error'; readonly code: ErrorCode; readonly detail?: string | undefined; readonly ref?: string | undefined };

/**
 * A message as a client names it: by its id (JSON), or (text) by its seq in a
 * conversation, the text client's short id (`12`: the lobby, `#room/12`, `@bob/12`).
 */
export type MessageRef = { readonly id: string } | { readonly conversation: ConversationRef; readonly seq: number };

/** A conversation as a text client names it: the lobby, a room, or the private one with a peer. */
export type ConversationRef =
  | { readonly kind: 'lobby' }
  | { readonly kind: 'room'; readonly room: string }
  | { readonly kind: 'direct'; readonly peer: string };

/** What a session asked for, after its protocol parsed the frame. */
export type Command =
  | {
      readonly kind: 'send';
      readonly ref?: string | undefined;
      readonly to: string | null;
      readonly room: string | null;
      readonly text: string;
      readonly sentAt: number;
      /** The message it answers: by id (JSON), or by the seq of the conversation it goes to (text). */
      readonly replyTo?: MessageRef | undefined;
      /** Uploads shared with the message (absent or empty: none). */
      readonly files?: readonly string[] | undefined;
    }
  | {
      readonly kind: 'edit' | 'delete' | 'react' | 'unreact';
      readonly ref?: string | undefined;
      readonly message: MessageRef;
      /** The new text (edit), the emoji (react, unreact), '' (delete). */
      readonly text: string;
    }
  /** A text client's list of a conversation's last messages with their short ids. */
  | { readonly kind: 'recent'; readonly conversation: ConversationRef }
  | { readonly kind: 'ping'; readonly ref?: string | undefined; readonly sentAt: number }
  | {
      readonly kind: 'create-room' | 'join-room' | 'leave-room' | 'delete-room';
      readonly ref?: string | undefined;
      readonly room: string;
    }
  | { readonly kind: 'list-rooms'; readonly ref?: string | undefined }
  | {
      readonly kind: 'history';
      readonly ref?: string | undefined;
      readonly conversation: string;
      readonly before?: number | undefined;
      readonly limit: number;
    }
  | { readonly kind: 'resume'; readonly cursors: Readonly<Record<string, number>> }
  | { readonly kind: 'list-users' }
  | { readonly kind: 'time' }
  | { readonly kind: 'upload-ticket' }
  | { readonly kind: 'help' }
  | { readonly kind: 'receipt'; readonly status: 'delivered' | 'read'; readonly from: string; readonly ids: readonly string[] }
  | { readonly kind: 'typing'; readonly to: string | null; readonly room: string | null; readonly active: boolean }
  | { readonly kind: 'invalid'; readonly code: ErrorCode; readonly detail: string; readonly ref?: string | undefined };
