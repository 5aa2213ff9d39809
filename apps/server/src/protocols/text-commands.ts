import { FileId } from '@chorus/protocol';
import type { Command } from '../hub/events.js';
import { parseConversationLabel, parseShortId } from './short-ids.js';

/** The slash commands of the text protocol, as /help lists them. */
export const TEXT_COMMANDS: readonly (readonly [usage: string, what: string])[] = [
  ['/help', 'list these commands'],
  ['/users', 'who is online'],
  ['/rooms', 'every room with its member count'],
  ['/create NAME', 'create a room (you own it and are its first member)'],
  ['/join NAME', 'join a room'],
  ['/leave NAME', 'leave a room'],
  ['/delete NAME', 'delete a room you own'],
  ['/delete ID', 'delete a message of yours (or any, in a room you own)'],
  ['/room NAME message', 'send a message to a room you are in'],
  ['/time', 'the server time'],
  ['/upload', 'how to upload a file (with curl), and your ticket for it'],
  ['/share FILE WHERE', 'share an uploaded file (WHERE: * everyone, #room, @id; a message may follow)'],
  ['/recent [WHERE]', 'the last messages with their ids (WHERE: * the lobby, #room, @id; ids: */12, #room/12, @bob/12)'],
  ['/edit ID text', 'replace the text of a message of yours'],
  ['/react ID EMOJI', 'react to a message'],
  ['/unreact ID EMOJI', 'take your reaction back'],
  ['/reply ID message', 'answer a message, in its conversation'],
  ['message,target', 'a private message (the text after the last comma is the recipient)'],
  ['message', 'a message to everyone (so is "message,")'],
  ['//text', 'a message that starts with a slash'],
];

const ROOM_COMMANDS = { '/create': 'create-room', '/join': 'join-room', '/leave': 'leave-room', '/delete': 'delete-room' } as const;

/** Parses a frame that starts with a single slash. */
export function parseSlashCommand(frame: string, receivedAt: number): Command {
  const space = frame.indexOf(' ');
  const name = (space === -1 ? frame : frame.slice(0, space)).toLowerCase();
  const rest = space === -1 ? '' : frame.slice(space + 1).trim();
  switch (name) {
    case '/help':
      return { kind: 'help' };
    case '/users':
      return { kind: 'list-users' };
    case '/rooms':
      return { kind: 'list-rooms' };
    case '/time':
      return { kind: 'time' };
    case '/upload':
      return { kind: 'upload-ticket' };
    case '/share': {
      const [, file = '', where = '', text = ''] = /^(\S+)\s+(\S+)(?:\s+([\s\S]*))?$/.exec(rest) ?? [];
      const conversation = parseConversationLabel(where);
      if (!FileId.safeParse(file).success || !conversation) return usage('/share FILE WHERE [message]');
      const to = conversation.kind === 'direct' ? conversation.peer : null;
      const room = conversation.kind === 'room' ? conversation.room : null;
      return { kind: 'send', to, room, text, sentAt: receivedAt, files: [file] };
    }
    case '/recent': {
      if (rest === '') return { kind: 'recent', conversation: { kind: 'lobby' } };
      const conversation = parseConversationLabel(rest);
      return conversation ? { kind: 'recent', conversation } : usage('/recent [* | #ROOM | @ID]');
    }
    case '/edit':
    case '/reply':
    case '/react':
    case '/unreact': {
      const gap = rest.search(/\s/);
      const how = TEXT_COMMANDS.find(([u]) => u.startsWith(`${name} `))![0];
      const message = parseShortId(gap === -1 ? rest : rest.slice(0, gap));
      const text = gap === -1 ? '' : rest.slice(gap).trim();
      // An empty emoji is the server's to refuse (BAD_EMOJI), like the JSON protocol's.
      if (!message || (text === '' && name !== '/react' && name !== '/unreact')) return usage(how);
      if (name === '/reply') return replyCommand(message, text, receivedAt);
      return { kind: name === '/edit' ? 'edit' : name === '/react' ? 'react' : 'unreact', message, text };
    }
    case '/delete': {
      // A short id always has a slash, a room name never: `/delete NAME` keeps deleting rooms.
      const message = parseShortId(rest);
      if (message) return { kind: 'delete', message, text: '' };
      if (rest.includes('/')) return usage('/delete ID');
      const room = rest.toLowerCase();
      if (room === '' || /\s/.test(room)) return usage(`${name} NAME`);
      return { kind: 'delete-room', room };
    }
    case '/create':
    case '/join':
    case '/leave': {
      const room = rest.toLowerCase();
      if (room === '' || /\s/.test(room)) return usage(`${name} NAME`);
      return { kind: ROOM_COMMANDS[name], room };
    }
    case '/room': {
      const gap = rest.search(/\s/);
      if (gap === -1) return usage('/room NAME message');
      const text = rest.slice(gap).trim();
      if (text === '') return usage('/room NAME message');
      return { kind: 'send', to: null, room: rest.slice(0, gap).toLowerCase(), text, sentAt: receivedAt };
    }
    default:
      return { kind: 'invalid', code: 'UNKNOWN_COMMAND', detail: `${name}: type /help for the list` };
  }
}

/** `/reply ID text`: a message to the conversation of the one it answers. */
function replyCommand(message: NonNullable<ReturnType<typeof parseShortId>>, text: string, sentAt: number): Command {
  const c = message.conversation;
  const to = c.kind === 'direct' ? c.peer : null;
  const room = c.kind === 'room' ? c.room : null;
  return { kind: 'send', to, room, text, sentAt, replyTo: message };
}

function usage(how: string): Command {
  return { kind: 'invalid', code: 'BAD_COMMAND', detail: how };
}
