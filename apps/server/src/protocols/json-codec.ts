import {
  ClientFrame,
  ERRORS,
  MAX_TEXT_LENGTH,
  SUBPROTOCOL,
  type ServerFrame,
} from '@chorus/protocol';
import type { Codec } from '../hub/codec.js';
import type { Command, OutEvent } from '../hub/events.js';

/** The typed protocol `chorus.v1`: one JSON object per frame, validated by packages/protocol. */
export class JsonCodec implements Codec {
  readonly name = 'json' as const;
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
    const parsed = ClientFrame.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
      return { kind: 'invalid', code: 'BAD_FRAME', detail: `${where}${issue?.message ?? 'invalid frame'}`, ref: refOf(value) };
    }
    const f = parsed.data;
    switch (f.type) {
      case 'send':
        return { kind: 'send', ref: f.id, to: f.to ?? null, text: f.text, sentAt: f.sentAt };
      case 'ping':
        return { kind: 'ping', ref: f.id, sentAt: f.sentAt };
    }
  }

  encode(event: OutEvent): string | null {
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
          limits: { maxTextLength: MAX_TEXT_LENGTH, maxFrameBytes: this.#maxFrameBytes },
        };
      case 'message': {
        const e = event.envelope;
        return { type: 'message', id: e.id, from: e.from, to: e.to, text: e.text, sentAt: e.sentAt, serverAt: e.serverAt };
      }
      case 'ack':
        return { type: 'ack', ref: event.ref, id: event.id, serverAt: event.serverAt };
      case 'presence':
        return { type: 'presence', joined: [...event.joined], left: [...event.left], serverAt: event.serverAt };
      case 'pong':
        return event.ref === undefined
          ? { type: 'pong', sentAt: event.sentAt, serverAt: event.serverAt }
          : { type: 'pong', id: event.ref, sentAt: event.sentAt, serverAt: event.serverAt };
      case 'unknown-recipient':
        return errorFrame('UNKNOWN_RECIPIENT', event.target, event.ref);
      case 'error':
        return errorFrame(event.code, event.detail, event.ref);
      case 'echo':
      case 'left':
        return null;
    }
  }
}

function errorFrame(code: keyof typeof ERRORS, detail: string | undefined, ref: string | undefined): ServerFrame {
  const spec = ERRORS[code];
  const message = detail ? `${spec.message}: ${detail}` : spec.message;
  return ref === undefined
    ? { type: 'error', code, message, retryable: spec.retryable }
    : { type: 'error', code, message, retryable: spec.retryable, ref };
}

/** The client's reference id of a frame that failed validation, if it had a usable one. */
function refOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : undefined;
}
