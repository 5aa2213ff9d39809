import {
  ERRORS,
  MAX_TEXT_LENGTH,
  roomNameProblem,
  type ErrorFrame,
  type SendFrame,
  type ServerFrame,
  type WelcomeFrame,
} from '@chorus/protocol';
import type { ChatMessage, TimelineItem } from './chat-message.js';
import { Connection } from './connection.svelte.js';
import {
  LOBBY,
  conversationIdOf,
  parseConversation,
  roomConversation,
  targetOf,
  type ConversationId,
} from './conversation-id.js';
import { Conversations } from './conversations.svelte.js';
import { MessageLog } from './message-log.svelte.js';
import { OnlineList } from './online-list.svelte.js';
import { explainRoomError, explainSendError, type RoomAction } from './plain-words.js';
import { ReceiptOutbox } from './receipt-outbox.js';
import { RoomDirectory } from './rooms.svelte.js';
import { ServerClock } from './server-clock.svelte.js';
import { TypingSender } from './typing-sender.js';
import { TypingIndicators } from './typing.svelte.js';

/** A problem worth telling the user that is not about the connection itself. */
export interface Notice {
  readonly id: number;
  readonly text: string;
}

/** The open conversation, as its header shows it. */
export type OpenConversation =
  | { readonly kind: 'lobby'; readonly id: ConversationId }
  | {
      readonly kind: 'room';
      readonly id: ConversationId;
      readonly room: string;
      readonly owner: string;
      /** The member ids, once the server listed them. */
      readonly members: readonly string[] | null;
      readonly memberCount: number;
    }
  | { readonly kind: 'dm'; readonly id: ConversationId; readonly peer: string; readonly online: boolean };

/** A room command waiting for its answer. `sync` re-reads the member list of a room I am in. */
interface PendingRoomCommand {
  readonly action: RoomAction | 'sync';
  readonly room: string;
  readonly resolve: (problem: string | null) => void;
}

/**
 * One signed-in tab: the connection, the server clock, who is online, the
 * rooms, the conversations and their messages, receipts and typing. Turns
 * server frames into state; components only read it and call its methods.
 */
export class ChatSession {
  /** My client id. */
  readonly me: string;
  readonly connection: Connection;
  readonly clock = new ServerClock();
  readonly online = new OnlineList();
  readonly messages = new MessageLog();
  readonly rooms = new RoomDirectory();
  readonly conversations: Conversations;
  /** Who is typing where; indicators expire on the server's clock. */
  readonly typing = new TypingIndicators(() => this.clock.now());
  /** Errors the server reported that no message of mine explains, and room news. */
  notices = $state<Notice[]>([]);
  /** The longest text the server accepts (from the welcome frame). */
  maxTextLength = $state(MAX_TEXT_LENGTH);
  /** Which server process holds the connection (for support). */
  node = $state<string | null>(null);

  /** The timeline of the open conversation. */
  readonly timeline: readonly TimelineItem[];
  /** Who is typing in the open conversation. */
  readonly typingHere: readonly string[];
  /** The open conversation, described. */
  readonly current: OpenConversation;

  readonly #refPrefix = Math.random().toString(36).slice(2, 10);
  #refs = 0;
  #notices = 0;
  readonly #roomCommands = new Map<string, PendingRoomCommand>();
  readonly #typingSender: TypingSender;
  readonly #receipts: ReceiptOutbox;
  readonly #onBrowserOnline = () => this.connection.retryNow();

  constructor(me: string, resolveUrl: () => Promise<string>) {
    this.me = me;
    this.conversations = new Conversations(me);
    this.timeline = $derived(this.messages.in(this.conversations.active));
    this.typingHere = $derived(this.typing.in(this.conversations.active));
    this.current = $derived(this.#describe(this.conversations.active));
    this.connection = new Connection({
      clientId: me,
      resolveUrl,
      onFrame: (frame) => this.#handle(frame),
      onLost: (reason) => this.#lost(reason),
    });
    this.#typingSender = new TypingSender((conversation, active) => {
      const target = targetOf(conversation, me);
      if (target.to === me) return true; // nobody to tell about a note to myself
      return this.connection.send({ type: 'typing', ...target, active });
    });
    this.#receipts = new ReceiptOutbox((frame) => this.connection.send(frame));
  }

  /** Connects (and keeps reconnecting as the close codes allow). */
  start(): void {
    window.addEventListener('online', this.#onBrowserOnline);
    this.connection.open();
  }

  /** Disconnects for good. */
  stop(): void {
    window.removeEventListener('online', this.#onBrowserOnline);
    this.connection.close();
  }

  /**
   * Sends `text` to the open conversation and shows it at once as pending.
   * Returns false, sending nothing, when offline, the text is empty or too
   * long, or the room is not one of mine.
   */
  send(text: string): boolean {
    if (text.trim() === '' || text.length > this.maxTextLength) return false;
    const conversation = this.conversations.active;
    const target = targetOf(conversation, this.me);
    if (target.room !== undefined && !this.rooms.isMember(target.room)) return false;
    const ref = this.#ref('m');
    const sentAt = Date.now();
    const frame: SendFrame = { type: 'send', id: ref, ...target, text, sentAt };
    if (!this.connection.send(frame)) return false;
    this.#typingSender.stop();
    this.conversations.keepDraft(conversation, '');
    this.messages.addOwn({
      ref,
      from: this.me,
      to: target.to ?? null,
      room: target.room ?? null,
      text,
      sentAt,
      serverAt: this.clock.now(),
    });
    this.conversations.arrived(conversation, true);
    return true;
  }

  /** The composer of the open conversation now holds `text` (typing indicator, draft). */
  typed(text: string): void {
    this.conversations.keepDraft(this.conversations.active, text);
    this.#typingSender.input(this.conversations.active, text);
  }

  /** Opens a conversation. */
  open(conversation: ConversationId): void {
    if (conversation !== this.conversations.active) this.#typingSender.stop();
    this.conversations.open(conversation);
  }

  /** Opens the direct conversation with `peer` (listing it if new). */
  openDirect(peer: string): void {
    this.#typingSender.stop();
    this.conversations.openDirect(peer);
  }

  /**
   * A message of someone else's has been on screen (its conversation open, the
   * tab visible, the element in view): tells the sender, once.
   */
  markSeen(message: ChatMessage): void {
    if (message.conversation !== this.conversations.active || message.id === null) return;
    if (this.messages.markSeen(message)) this.#receipts.add('read', message.from, message.id);
  }

  /** Creates room `name` and opens it; resolves with a problem in plain words, or null once created. */
  createRoom(name: string): Promise<string | null> {
    const room = name.trim().toLowerCase();
    const problem = roomNameProblem(room);
    if (problem) return Promise.resolve(`“${room}” cannot be used as a room name: ${problem}.`);
    return this.#roomCommand('create', room);
  }

  /** Joins room `name` and opens it. */
  joinRoom(name: string): Promise<string | null> {
    return this.#roomCommand('join', name);
  }

  /** Leaves room `name`. */
  leaveRoom(name: string): Promise<string | null> {
    return this.#roomCommand('leave', name);
  }

  /** Deletes room `name` (mine); its members are told. */
  deleteRoom(name: string): Promise<string | null> {
    return this.#roomCommand('delete', name);
  }

  /** Hides a notice. */
  dismiss(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
  }

  #handle(frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome':
        return this.#welcome(frame);
      case 'pong':
        this.clock.fromPong(frame.sentAt, frame.serverAt);
        return;
      case 'presence':
        this.online.apply(frame.joined, frame.left);
        for (const id of frame.joined) this.messages.addNote(LOBBY, `${id} joined the chat`, frame.serverAt);
        for (const id of frame.left) if (!frame.joined.includes(id)) this.messages.addNote(LOBBY, `${id} left the chat`, frame.serverAt);
        return;
      case 'message': {
        if (frame.from === this.me && this.messages.confirmOwn(frame)) return;
        const message = this.messages.addReceived(frame);
        if (!message) return;
        const mine = frame.from === this.me;
        this.typing.stopped(message.conversation, frame.from);
        this.conversations.arrived(message.conversation, mine);
        if (!mine) this.#receipts.add('delivered', frame.from, frame.id);
        return;
      }
      case 'ack':
        this.messages.ack(frame.ref, frame.id, frame.serverAt, frame.recipients);
        return;
      case 'receipts':
        this.messages.applyReceipts(frame.updates);
        return;
      case 'typing':
        if (frame.from === this.me) return;
        this.typing.apply(conversationIdOf(frame.from, frame.to, frame.room), frame.from, frame.active, frame.expiresAt);
        return;
      case 'rooms':
        if (frame.ref !== undefined) this.rooms.replace(frame.rooms);
        else this.rooms.update(frame.rooms, frame.deleted);
        for (const name of frame.deleted) this.conversations.forget(roomConversation(name));
        return;
      case 'room': {
        this.rooms.entered(frame);
        const pending = this.#answered(frame.ref);
        if (pending && (pending.action === 'create' || pending.action === 'join')) this.open(roomConversation(frame.name));
        return;
      }
      case 'room-members': {
        this.rooms.membersChanged(frame.room, frame.joined, frame.left);
        const conversation = roomConversation(frame.room);
        // My own joins and leaves are answered to me directly (and may be batched in here too).
        for (const id of frame.joined) if (id !== this.me) this.messages.addNote(conversation, `${id} joined the room`, frame.serverAt);
        for (const id of frame.left) {
          if (id !== this.me && !frame.joined.includes(id)) this.messages.addNote(conversation, `${id} left the room`, frame.serverAt);
        }
        return;
      }
      case 'room-left':
        this.rooms.left(frame.room);
        this.conversations.forget(roomConversation(frame.room));
        this.#answered(frame.ref);
        return;
      case 'room-deleted':
        this.rooms.deleted(frame.room);
        this.conversations.forget(roomConversation(frame.room));
        if (!this.#answered(frame.ref)) this.#notify(`${frame.by} deleted the room “${frame.room}”; you are no longer in it.`);
        return;
      case 'error':
        return this.#error(frame);
      case 'history':
      case 'resumed':
        // Answers to `history` and `resume`, which this client does not send (yet).
        return;
      default:
        frame satisfies never;
    }
  }

  #welcome(frame: WelcomeFrame): void {
    this.clock.fromWelcome(frame.serverAt);
    this.online.reset(frame.online);
    this.maxTextLength = frame.limits.maxTextLength;
    this.node = frame.node;
    this.rooms.reset(frame.rooms, frame.memberOf);
    const open = parseConversation(this.conversations.active, this.me);
    if (open.kind === 'room' && !this.rooms.isMember(open.room)) this.conversations.forget(this.conversations.active);
    // A round trip right away gives a much better clock estimate than the welcome.
    this.connection.send({ type: 'ping', id: 'sync', sentAt: Date.now() });
    // The welcome names my rooms but not their members: joining a room I am in answers with them.
    for (const room of frame.memberOf) void this.#roomCommand('sync', room);
    // Receipts queued while offline.
    this.#receipts.flush();
  }

  #error(frame: ErrorFrame): void {
    if (frame.ref !== undefined) {
      const pending = this.messages.pending(frame.ref);
      if (pending) {
        this.messages.fail(frame.ref, explainSendError(frame, pending.to, pending.room));
        return;
      }
      const command = this.#roomCommands.get(frame.ref);
      if (command) {
        this.#roomCommands.delete(frame.ref);
        if (command.action === 'sync') {
          // The room went away while I was offline.
          this.rooms.deleted(command.room);
          this.conversations.forget(roomConversation(command.room));
          return command.resolve(null);
        }
        const problem = explainRoomError(frame, command.action, command.room);
        // Creating answers in its dialog; the other commands come from buttons with nowhere else to say it.
        if (command.action !== 'create') this.#notify(problem);
        return command.resolve(problem);
      }
    }
    // Errors that end the connection are explained by the connection status.
    if ('close' in ERRORS[frame.code]) return;
    // Typing frames carry no id: this is a typing notice to a room I just left.
    if (frame.code === 'NOT_ROOM_MEMBER' && frame.ref === undefined) return;
    this.#notify(`The server said: ${frame.message}.`);
  }

  #lost(reason: string): void {
    this.messages.failPending(`Not sent: ${reason}`);
    this.typing.clear();
    this.#typingSender.reset();
    for (const [ref, command] of this.#roomCommands) {
      this.#roomCommands.delete(ref);
      command.resolve(`Not connected: ${reason}`);
    }
  }

  #roomCommand(action: RoomAction | 'sync', room: string): Promise<string | null> {
    const id = this.#ref('r');
    const type = action === 'sync' ? 'join-room' : (`${action}-room` as const);
    if (!this.connection.send({ type, id, room })) return Promise.resolve('Not connected to the server.');
    return new Promise((resolve) => this.#roomCommands.set(id, { action, room, resolve }));
  }

  /** Settles the room command answered with `ref`, and returns it (undefined for none or someone else's). */
  #answered(ref: string | undefined): PendingRoomCommand | undefined {
    if (ref === undefined) return undefined;
    const command = this.#roomCommands.get(ref);
    if (!command) return undefined;
    this.#roomCommands.delete(ref);
    command.resolve(null);
    return command;
  }

  #notify(text: string): void {
    this.notices = [...this.notices, { id: ++this.#notices, text }];
  }

  #ref(kind: string): string {
    return `${this.#refPrefix}-${kind}${++this.#refs}`;
  }

  #describe(id: ConversationId): OpenConversation {
    const ref = parseConversation(id, this.me);
    if (ref.kind === 'lobby') return { kind: 'lobby', id };
    if (ref.kind === 'dm') return { kind: 'dm', id, peer: ref.peer, online: this.online.has(ref.peer) };
    const summary = this.rooms.get(ref.room);
    const members = this.rooms.members(ref.room);
    return {
      kind: 'room',
      id,
      room: ref.room,
      owner: summary?.owner ?? '',
      members,
      memberCount: summary?.members ?? members?.length ?? 0,
    };
  }
}
