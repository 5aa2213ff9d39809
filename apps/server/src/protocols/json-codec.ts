import { ClientFrame, ERRORS, MAX_TEXT_LENGTH, SUBPROTOCOL, type MessageFrame, type ServerFrame } from '@chorus/protocol';
import type { Codec } from '../hub/codec.js';
import type { Command, MessageReceipts, OutEvent } from '../hub/events.js';
import { DEFAULT_HISTORY_PAGE } from '../hub/limits.js';
import { fastDecode } from './json-fast-path.js';
import { jsonNumber, messageFrame, messageFrameJson } from './message-frame.js';

/** The typed protocol `chorus.v1`: one JSON object per frame, validated by packages/protocol. */
export class JsonCodec implements Codec {
  readonly name = 'json' as const;
  readonly cursors = 'client' as const;
  readonly presence = 'batched' as const;
  readonly offlineRecipients = 'accepted' as const;
  readonly #node: string;
  readonly #maxFrameBytes: number;

  constructor(options: { node: string; maxFrameBytes: number }) {
    this.#node = options.node;
    this.#maxFrameBytes = options.maxFrameBytes;
  }

  decode(frame: string): Command {
    let value: unknown;
    try {
      value = JSON.parse(frame);
    } catch {
      return { kind: 'invalid', code: 'BAD_JSON', detail: 'the frame could not be parsed as JSON' };
    }
    const fast = fastDecode(value);
    if (fast !== null) return fast;
    const parsed = ClientFrame.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
      return { kind: 'invalid', code: 'BAD_FRAME', detail: `${where}${issue?.message ?? 'invalid frame'}`, ref: refOf(value) };
    }
    const f = parsed.data;
    switch (f.type) {
      case 'send':
        return {
          kind: 'send',
          ref: f.id,
          to: f.to ?? null,
          room: f.room ?? null,
          text: f.text,
          sentAt: f.sentAt,
          ...(f.replyTo !== undefined ? { replyTo: { id: f.replyTo } } : {}),
          ...(f.files && f.files.length > 0 ? { files: f.files } : {}),
        };
      case 'edit':
        return { kind: 'edit', ref: f.id, message: { id: f.message }, text: f.text };
      case 'delete':
        return { kind: 'delete', ref: f.id, message: { id: f.message }, text: '' };
      case 'react':
      case 'unreact':
        return { kind: f.type, ref: f.id, message: { id: f.message }, text: f.emoji };
      case 'ping':
        return { kind: 'ping', ref: f.id, sentAt: f.sentAt };
      case 'create-room':
      case 'join-room':
      case 'leave-room':
      case 'delete-room':
        return { kind: f.type, ref: f.id, room: f.room };
      case 'list-rooms':
        return { kind: 'list-rooms', ref: f.id };
      case 'receipt':
        return { kind: 'receipt', status: f.status, from: f.from, ids: f.ids };
      case 'typing':
        return { kind: 'typing', to: f.to ?? null, room: f.room ?? null, active: f.active };
      case 'history':
        return { kind: 'history', ref: f.id, conversation: f.conversation, before: f.before, limit: f.limit ?? DEFAULT_HISTORY_PAGE };
      case 'resume':
        return { kind: 'resume', cursors: f.cursors };
    }
  }

  encode(event: OutEvent): string | null {
    // The hot one, rendered by the function the mesh uses too (same bytes). A replayed
    // message of the client's own also carries its receipt counts (rare: no fast path).
    if (event.kind === 'message') return event.receipts ? JSON.stringify(this.#frame(event)) : messageFrameJson(event.envelope);
    if (event.kind === 'ack') return ackFrameJson(event);
    if (event.kind === 'receipts') return receiptsFrameJson(event);
    const frame = this.#frame(event);
    return frame === null ? null : JSON.stringify(frame);
  }

  #frame(event: OutEvent): ServerFrame | null {
    switch (event.kind) {
      case 'welcome':
        return {
          type: 'welcome',
          protocol: SUBPROTOCOL,
          clientId: event.clientId,
          serverAt: event.serverAt,
          node: this.#node,
          online: [...event.online],
          onlineCount: event.onlineCount,
          rooms: [...event.rooms],
          memberOf: [...event.memberOf],
          limits: {
            maxTextLength: MAX_TEXT_LENGTH,
            maxFrameBytes: this.#maxFrameBytes,
            ...(event.frameRate ? { frameRate: { perSecond: event.frameRate.perSecond, burst: event.frameRate.burst } } : {}),
          },
          ...(event.uploads ? { uploads: { ...event.uploads } } : {}),
        };
      case 'message':
        return withReceipts(messageFrame(event.envelope), event.receipts);
      case 'ack':
        return {
          type: 'ack',
          ref: event.ref,
          id: event.id,
          serverAt: event.serverAt,
          recipients: event.recipients,
          conversation: event.conversation,
          seq: event.seq,
        };
      case 'history':
        return withRef(
          {
            type: 'history',
            conversation: event.conversation,
            messages: event.messages.map((m) => withReceipts(messageFrame(m), event.receipts?.get(m.id))),
            more: event.more,
            ...(event.actionSeqs ? { actionSeqs: [...event.actionSeqs] } : {}),
          },
          event.ref,
        );
      case 'action': {
        const a = event.action;
        return {
          type: 'action',
          id: a.id,
          action: a.action,
          message: a.message,
          from: a.from,
          conversation: a.conversation,
          seq: a.seq,
          text: a.text,
          serverAt: a.serverAt,
        };
      }
      case 'resumed':
        return { type: 'resumed', conversations: { ...event.conversations }, truncated: [...event.truncated] };
      case 'presence':
        return { type: 'presence', joined: [...event.joined], left: [...event.left], serverAt: event.serverAt };
      case 'room':
        return withRef({ type: 'room', name: event.name, owner: event.owner, members: [...event.members] }, event.ref);
      case 'room-left':
        return withRef({ type: 'room-left', room: event.room }, event.ref);
      case 'room-deleted':
        return withRef({ type: 'room-deleted', room: event.room, by: event.by }, event.ref);
      case 'room-members':
        return { type: 'room-members', room: event.room, joined: [...event.joined], left: [...event.left], serverAt: event.serverAt };
      case 'rooms':
        return withRef({ type: 'rooms', rooms: [...event.rooms], deleted: [...event.deleted] }, event.ref);
      case 'receipts':
        return { type: 'receipts', updates: event.updates.map((u) => ({ ...u })) };
      case 'typing': {
        const t = event.typing;
        return { type: 'typing', from: t.from, to: t.to, room: t.room, active: t.active, expiresAt: t.expiresAt };
      }
      case 'pong':
        return event.ref === undefined
          ? { type: 'pong', sentAt: event.sentAt, serverAt: event.serverAt }
          : { type: 'pong', id: event.ref, sentAt: event.sentAt, serverAt: event.serverAt };
      case 'unknown-recipient':
        return errorFrame('UNKNOWN_RECIPIENT', event.target, event.ref);
      case 'error':
        return errorFrame(event.code, event.detail, event.ref);
      case 'echo':
      case 'recent':
      case 'joined':
      case 'left':
      case 'room-member':
      case 'users':
      case 'time':
      case 'help':
      // A JSON client has its ticket in the welcome.
      case 'upload-ticket':
        return null;
    }
  }
}

/**
 * The `ack` frame as JSON text, put together field by field: the same text as
 * JSON.stringify of the frame #frame builds (the tests compare them), without
 * the object, for the frame every message causes.
 */
function ackFrameJson(ack: Extract<OutEvent, { kind: 'ack' }>): string {
  return (
    `{"type":"ack","ref":${JSON.stringify(ack.ref)},"id":${JSON.stringify(ack.id)},"serverAt":${jsonNumber(ack.serverAt)},` +
    `"recipients":${jsonNumber(ack.recipients)},"conversation":${JSON.stringify(ack.conversation)},"seq":${jsonNumber(ack.seq)}}`
  );
}

/** The `receipts` frame as JSON text, put together like the ack (same text as JSON.stringify of #frame's). */
function receiptsFrameJson(event: Extract<OutEvent, { kind: 'receipts' }>): string {
  let json = '{"type":"receipts","updates":[';
  const { updates } = event;
  for (let i = 0; i < updates.length; i++) {
    const u = updates[i]!;
    json += `${i === 0 ? '' : ','}{"id":${JSON.stringify(u.id)},"delivered":${jsonNumber(u.delivered)},"read":${jsonNumber(u.read)}}`;
  }
  return `${json}]}`;
}

function errorFrame(code: keyof typeof ERRORS, detail: string | undefined, ref: string | undefined): ServerFrame {
  const spec = ERRORS[code];
  const message = detail ? `${spec.message}: ${detail}` : spec.message;
  return withRef({ type: 'error', code, message, retryable: spec.retryable }, ref);
}

/** Adds a message's receipt counts when there are some (the schema makes them optional). */
function withReceipts(frame: MessageFrame, receipts: MessageReceipts | undefined): MessageFrame {
  return receipts === undefined
    ? frame
    : { ...frame, receipts: { recipients: receipts.recipients, delivered: receipts.delivered, read: receipts.read } };
}

/** Adds `ref` when there is one (the schemas make it optional, never undefined). */
function withRef<F extends ServerFrame>(frame: F, ref: string | undefined): F {
  return ref === undefined ? frame : { ...frame, ref };
}

/** The client's reference id of a frame that failed validation, if it had a usable one. */
function refOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : undefined;
}
