import { ERRORS } from '@chorus/protocol';
import type { Codec } from '../hub/codec.js';
import type { Command, OutEvent } from '../hub/events.js';

/**
 * The original protocol: `message,target` in, plain sentences out, byte for byte
 * as the first service sent them. The text after the LAST comma is the target
 * (trimmed; empty means everyone); a frame without a comma goes to everyone.
 */
export class TextCodec implements Codec {
  readonly name = 'text' as const;

  decode(frame: string, receivedAt: number): Command {
    const comma = frame.lastIndexOf(',');
    if (comma === -1) return { kind: 'send', to: null, text: frame, sentAt: receivedAt };
    const target = frame.slice(comma + 1).trim();
    return { kind: 'send', to: target === '' ? null : target, text: frame.slice(0, comma), sentAt: receivedAt };
  }

  encode(event: OutEvent): string | null {
    switch (event.kind) {
      case 'echo':
        return `You wrote: ${event.text}`;
      case 'message': {
        const { from, to, text } = event.envelope;
        return to === null ? `Client #${from} says: ${text}` : `${from} send a private message: ${text}`;
      }
      case 'unknown-recipient':
        return `${event.target} is not a valid client`;
      case 'left':
        return `Client #${event.clientId} left the chat`;
      case 'error':
        return event.detail ? `${ERRORS[event.code].message}: ${event.detail}` : ERRORS[event.code].message;
      case 'welcome':
      case 'ack':
      case 'presence':
      case 'pong':
        return null;
    }
  }
}
