import { ERRORS, formatSize, textProblem, type FileInfo } from '@chorus/protocol';
import type { Codec } from '../hub/codec.js';
import type { Command, OutEvent } from '../hub/events.js';
import { recentLines } from './recent-lines.js';
import { shortId } from './short-ids.js';
import { parseSlashCommand, TEXT_COMMANDS } from './text-commands.js';

const HELP = ['Commands:', ...TEXT_COMMANDS.map(([usage, what]) => `  ${usage.padEnd(20)} ${what}`)].join('\n');

/**
 * The original protocol: `message,target` in, plain sentences out, byte for byte
 * as the first service sent them. The text after the LAST comma is the target
 * (trimmed; empty means everyone); a frame without a comma goes to everyone.
 * New features arrive as slash commands (`/help`); `//text` sends "/text".
 */
export class TextCodec implements Codec {
  readonly name = 'text' as const;
  readonly #baseUrl: string;

  /** `baseUrl`: the server's public http(s) address, put before file links (none: the links are paths). */
  constructor(options: { baseUrl?: string | undefined } = {}) {
    this.#baseUrl = options.baseUrl ?? '';
  }
  /** A text client cannot say where it stopped: the server remembers (hub/text-catch-up.ts). */
  readonly cursors = 'server' as const;
  readonly presence = 'per-event' as const;
  readonly offlineRecipients = 'refused' as const;

  decode(frame: string, receivedAt: number): Command {
    // The WebSocket layer already refuses invalid UTF-8; NUL is valid there but cannot be stored.
    const problem = textProblem(frame);
    if (problem) return { kind: 'invalid', code: 'BAD_FRAME', detail: problem };
    if (frame.startsWith('/')) {
      if (!frame.startsWith('//')) return parseSlashCommand(frame, receivedAt);
      frame = frame.slice(1);
    }
    const comma = frame.lastIndexOf(',');
    if (comma === -1) return { kind: 'send', to: null, room: null, text: frame, sentAt: receivedAt };
    const target = frame.slice(comma + 1).trim();
    return { kind: 'send', to: target === '' ? null : target, room: null, text: frame.slice(0, comma), sentAt: receivedAt };
  }

  encode(event: OutEvent): string | null {
    switch (event.kind) {
      case 'echo':
        return `You wrote: ${event.text}`;
      case 'message': {
        const { from, to, room, text, files } = event.envelope;
        const said = text === '' ? null : saidLine(from, to, room, text);
        if (!files || files.length === 0) return said;
        // One line per file after the text (if any), in one frame: a text client reads them together.
        const shared = files.map((f) => sharedLine(from, to, room, f, this.#baseUrl));
        return (said === null ? shared : [said, ...shared]).join('\n');
      }
      case 'action': {
        // New lines of their own (the existing ones never change): one per action.
        const a = event.action;
        const id = shortId(a.conversation, a.messageSeq, event.viewer);
        if (a.action === 'edit') return `Client #${a.from} edited ${id}: ${a.text}`;
        if (a.action === 'delete') return `Client #${a.from} deleted ${id}`;
        if (a.action === 'react') return `Client #${a.from} reacted ${a.text} to ${id}`;
        return `Client #${a.from} took back ${a.text} on ${id}`;
      }
      case 'recent':
        return recentLines(event.conversation, event.viewer, event.messages);
      case 'unknown-recipient':
        return `${event.target} is not a valid client`;
      case 'joined':
        return `Client #${event.clientId} joined the chat`;
      case 'left':
        return `Client #${event.clientId} left the chat`;
      case 'room':
        return event.created
          ? `Room ${event.name} created; you are its owner`
          : `You joined ${event.name} (${plural(event.members.length, 'member')}: ${event.members.join(', ')})`;
      case 'room-left':
        return `You left ${event.room}`;
      case 'room-deleted':
        return event.reply ? `Room ${event.room} deleted` : `Room ${event.room} was deleted by ${event.by}`;
      case 'room-member':
        return `Client #${event.clientId} ${event.joined ? 'joined' : 'left'} ${event.room}`;
      case 'rooms':
        if (!event.reply) return null;
        if (event.rooms.length === 0) return 'No rooms yet: create one with /create NAME';
        return `Rooms: ${event.rooms.map((r) => `${r.name} (${plural(r.members, 'member')}, owner ${r.owner})`).join(', ')}`;
      case 'users':
        return `Online (${event.online.length}): ${event.online.join(', ')}`;
      case 'time':
        return `Server time: ${new Date(event.serverAt).toISOString()} (${event.serverAt})`;
      case 'help':
        return HELP;
      case 'upload-ticket': {
        if (event.grant === null) return ERRORS.FILES_UNAVAILABLE.message;
        const { ticket, expiresAt, maxBytes } = event.grant;
        return [
          `Upload ticket (while you stay connected, until ${new Date(expiresAt).toISOString()}; at most ${formatSize(maxBytes)} a file): ${ticket}`,
          `Upload: curl -H "Authorization: Bearer ${ticket}" -F file=@FILE ${this.#baseUrl || 'http://SERVER'}/files`,
          'Then share it: /share ID * (everyone), /share ID #ROOM or /share ID @CLIENT, a message after it if you like',
        ].join('\n');
      }
      case 'error':
        return event.detail ? `${ERRORS[event.code].message}: ${event.detail}` : ERRORS[event.code].message;
      case 'welcome':
      case 'history':
      case 'resumed':
      case 'ack':
      case 'presence':
      case 'room-members':
      case 'receipts':
      case 'typing':
      case 'pong':
        return null;
    }
  }
}

function saidLine(from: string, to: string | null, room: string | null, text: string): string {
  if (room !== null) return `Client #${from} says in ${room}: ${text}`;
  return to === null ? `Client #${from} says: ${text}` : `${from} send a private message: ${text}`;
}

/** `Client #bob shared photo.png (120 KB): <url>`; in a room `... shared in <room> ...`; privately as private messages read. */
function sharedLine(from: string, to: string | null, room: string | null, file: FileInfo, baseUrl: string): string {
  const what = `${file.name} (${formatSize(file.size)}): ${baseUrl}${file.url}`;
  if (room !== null) return `Client #${from} shared in ${room} ${what}`;
  return to === null ? `Client #${from} shared ${what}` : `${from} send a private file: ${what}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
