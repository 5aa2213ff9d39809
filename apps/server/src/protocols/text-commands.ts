import type { Command } from '../hub/events.js';

/** The slash commands of the text protocol, as /help lists them. */
export const TEXT_COMMANDS: readonly (readonly [usage: string, what: string])[] = [
  ['/help', 'list these commands'],
  ['/users', 'who is online'],
  ['/rooms', 'every room with its member count'],
  ['/create NAME', 'create a room (you own it and are its first member)'],
  ['/join NAME', 'join a room'],
  ['/leave NAME', 'leave a room'],
  ['/delete NAME', 'delete a room you own'],
  ['/room NAME message', 'send a message to a room you are in'],
  ['/time', 'the server time'],
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
    case '/create':
    case '/join':
    case '/leave':
    case '/delete': {
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

function usage(how: string): Command {
  return { kind: 'invalid', code: 'BAD_COMMAND', detail: how };
}
