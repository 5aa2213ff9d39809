import {
  CloseCode,
  ERRORS,
  MAX_TEXT_LENGTH,
  roomNameProblem,
  type ErrorFrame,
  type HistoryPageFrame,
  type ServerFrame,
  type FileInfo,
  type WelcomeFrame,
} from '@chorus/protocol';
import { Uploads } from './uploads.svelte.js';
import type { AuthEnding } from '../auth/start-route.js';
import type { ChatStore, OutboxEntry } from '../store/chat-store.js';
import { MemoryStore } from '../store/memory-store.js';
import type { ChatMessage, TimelineItem } from './chat-message.js';
import { Connection } from './connection.svelte.js';
import {
  LOBBY,
  conversationIdOf,
  directConversation,
  parseConversation,
  roomConversation,
  targetOf,
  type ConversationId,
} from './conversation-id.js';
import { Conversations } from './conversations.svelte.js';
import { Cursors } from './cursors.js';
import { HISTORY_PAGE, HistoryPager } from './history-pager.js';
import { MessageLog } from './message-log.svelte.js';
import { Outbox } from './outbox.js';
import { OnlineList } from './online-list.svelte.js';
import { explainRoomError, explainSendError, type RoomAction } from './plain-words.js';
import { ReceiptOutbox } from './receipt-outbox.js';
import { RoomDirectory } from './rooms.svelte.js';
import { ServerClock } from './server-clock.svelte.js';
import { NameConflict, type Conflict } from './name-conflict.svelte.js';
import { Notices, type Notice } from './notices.svelte.js';
import type { Timers } from './timers.js';
import { TypingSender } from './typing-sender.js';
import { TypingIndicators } from './typing.svelte.js';
import { displayNames } from './display-names.svelte.js';

/** What a {@link ChatSession} needs beyond its id, its URL and its store. */
export interface ChatSessionOptions {
  /** The account's token; null or absent for a guest. */
  readonly token?: string | null;
  /** The server refused or ended the session for want of a valid token (close 4401). */
  onAuthEnded?(ending: AuthEnding): void;
  /** Timers and a monotonic clock for pacing frames, batching receipts and clearing notices (tests drive them). */
  readonly time?: { readonly timers: Timers; readonly clock: () => number };
  /** The chat server's http(s) address, for uploads (none: the page's own origin). */
  readonly fileServer?: () => Promise<string>;
}

export type { Notice } from './notices.svelte.js';
export type { Conflict } from './name-conflict.svelte.js';

/** What the socket URL of the next attempt must ask for. */
export interface UrlOptions {
  /** Take the id over from the connection that holds it (`?takeover=1`). */
  readonly takeover: boolean;
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
  /** `online`: whether the peer is online; null while I am not connected (nobody knows). */
  | { readonly kind: 'dm'; readonly id: ConversationId; readonly peer: string; readonly online: boolean | null };

/** How many of each conversation's newest messages a reload shows at once (older ones: from the store on scroll). */
const RESTORE_RECENT = 2 * HISTORY_PAGE;
/** How long state changes gather before the small records (cursors, rooms, conversations) are written. */
const META_DELAY_MS = 100;
/** How long after the server's last RATE_LIMITED my unacknowledged messages go again (its bucket has refilled by then). */
const RATE_LIMIT_QUIET_MS = 3_000;

/** Where the open conversation's history stands, for the top of the message list. */
export interface OlderState {
  /** Older messages are being loaded. */
  readonly loading: boolean;
  /** The start of the conversation is shown. */
  readonly complete: boolean;
}

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
 *
 * Durable: the conversations live in a {@link ChatStore} (IndexedDB, one per
 * client id) and are shown from it before the socket connects. The connection
 * asks to resume (`?resume=1`), sends the cursors after the welcome, then the
 * outbox (my messages not acknowledged yet, in order, with their original send
 * ids). What arrives, live, replayed or paged in, is kept once per
 * (conversation, seq).
 */
export class ChatSession {
  /** My client id. */
  readonly me: string;
  readonly connection: Connection;
  readonly clock = new ServerClock();
  readonly online = new OnlineList();
  /** The files of the message being written. */
  readonly uploads: Uploads;
  readonly messages: MessageLog;
  readonly rooms = new RoomDirectory();
  readonly conversations: Conversations;
  /** Who is typing where; indicators expire on the server's clock. */
  readonly typing = new TypingIndicators(() => this.clock.now());
  /** Errors the server reported that no message of mine explains, and room news: one per kind. */
  readonly #notices: Notices;
  /** Another connection has my id, or took it from this tab (guests: one connection per name). */
  readonly #conflict: NameConflict;
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
  /** Whether the open conversation is loading older messages, or shows its start. */
  readonly older: OlderState;
  /** Whether a message written now is accepted: online, or while (re)connecting (it waits in the outbox). */
  readonly canSend: boolean;

  readonly #refPrefix = Math.random().toString(36).slice(2, 10);
  #refs = 0;
  readonly #roomCommands = new Map<string, PendingRoomCommand>();
  readonly #typingSender: TypingSender;
  readonly #receipts: ReceiptOutbox;
  readonly #outbox: Outbox;
  readonly #pager: HistoryPager;
  #cursors = new Cursors();
  /** History requests waiting for their page, by ref. */
  readonly #historyRequests = new Map<string, (page: HistoryPageFrame | null) => void>();
  readonly #openStore: () => Promise<ChatStore>;
  /** Resolves once the store is open (writes wait for it, in call order). */
  readonly #store: Promise<ChatStore>;
  #resolveStore!: (store: ChatStore) => void;
  /** Resolves once what the store kept is on screen; connecting waits for it (the cursors come from it). */
  #restored: Promise<void> | null = null;
  /** Set once the kept state is on screen: only then may it be written back (else an empty state would overwrite it). */
  #restoreDone = false;
  #metaTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  readonly #onBrowserOnline = () => this.connection.retryNow();
  readonly #onPageHide = () => void this.#saveMeta();

  /**
   * `resolveUrl` names the socket URL for each attempt (with `?resume=1`, and
   * `?takeover=1` when asked);
   * `openStore` opens this id's store (in memory when not given); `options`
   * give the account's token (none: a guest) and who to tell when the server
   * refuses or ends the session for want of a valid token.
   */
  constructor(
    me: string,
    resolveUrl: (options: UrlOptions) => Promise<string>,
    openStore: () => Promise<ChatStore> = async () => new MemoryStore(),
    options: ChatSessionOptions = {},
  ) {
    this.me = me;
    this.uploads = new Uploads(options.fileServer ?? (async () => ''));
    this.#openStore = openStore;
    this.#store = new Promise((resolve) => (this.#resolveStore = resolve));
    this.conversations = new Conversations(me);
    this.messages = new MessageLog(me, (messages) => this.#write((store) => store.putMessages(messages)));
    this.timeline = $derived(this.messages.in(this.conversations.active));
    this.typingHere = $derived(this.typing.in(this.conversations.active));
    this.current = $derived(this.#describe(this.conversations.active));
    this.older = $derived({
      loading: this.messages.loadingOlder(this.conversations.active),
      complete: this.messages.complete(this.conversations.active),
    });
    this.#notices = new Notices(options.time?.timers);
    this.#conflict = new NameConflict();
    this.connection = new Connection({
      clientId: me,
      resolveUrl: async () => {
        await this.#restored;
        return resolveUrl({ takeover: this.#conflict.takingOver });
      },
      onFrame: (frame) => this.#handle(frame),
      onLost: (reason) => this.#lost(reason),
      onUnsent: (frames) => {
        // Receipts are nobody else's to send again; the outbox, the resume and the room syncs go again after the next welcome.
        for (const frame of frames)
          if (frame.type === 'receipt') for (const id of frame.ids) this.#receipts.add(frame.status, frame.from, id);
      },
      onEnded: (end) => {
        const code = end.error?.code;
        if (end.code !== CloseCode.AUTH_FAILED && code !== 'AUTH_REQUIRED' && code !== 'AUTH_FAILED') return;
        options.onAuthEnded?.({ error: code === 'AUTH_REQUIRED' || code === 'AUTH_FAILED' ? code : null, reason: end.reason });
      },
      token: options.token ?? null,
      ...(options.time ? { pacing: options.time } : {}),
    });
    this.canSend = $derived(['online', 'connecting', 'reconnecting'].includes(this.connection.status.kind));
    this.#outbox = new Outbox({
      send: (frame) => this.connection.send(frame),
      save: (entry) => this.#write((store) => store.putOutbox(entry)),
      remove: (ref) => this.#write((store) => store.deleteOutbox(ref)),
    });
    this.#pager = new HistoryPager(this.messages, {
      readStored: (conversation, before, limit) => this.#store.then((store) => store.older(conversation, before, limit)),
      fetch: (conversation, before, limit) => this.#fetchHistory(conversation, before, limit),
      held: (conversation, seq) => this.#hold(conversation, seq),
    });
    this.#typingSender = new TypingSender((conversation, active) => {
      const target = targetOf(conversation, me);
      if (target.to === me) return true; // nobody to tell about a note to myself
      return this.connection.send({ type: 'typing', ...target, active });
    });
    this.#receipts = new ReceiptOutbox((frame) => this.connection.send(frame), options.time ? { timers: options.time.timers } : {});
  }

  /** Shows what the store kept, then connects (and keeps reconnecting as the close codes allow). */
  start(): void {
    window.addEventListener('online', this.#onBrowserOnline);
    window.addEventListener('pagehide', this.#onPageHide);
    this.#restored = this.#restore();
    this.connection.open();
  }

  /** Disconnects for good. */
  stop(): void {
    this.#stopped = true;
    window.removeEventListener('online', this.#onBrowserOnline);
    window.removeEventListener('pagehide', this.#onPageHide);
    this.connection.close();
    this.#outbox.lost();
    // Closed once the last small records are written (closing first would refuse them).
    void this.#saveMeta()
      .then(() => this.#store)
      .then((store) => store.close());
  }

  /**
   * Sends `text` to the open conversation and shows it at once as pending.
   * Offline (while the connection is expected back) it waits in the outbox and
   * goes out after the resume. Returns false, keeping nothing, when the text
   * is empty or too long, the room is not one of mine, or the connection will
   * not come back by itself.
   */
  send(text: string, files: readonly FileInfo[] = []): boolean {
    if (!this.canSend || (text.trim() === '' && files.length === 0) || text.length > this.maxTextLength) return false;
    const conversation = this.conversations.active;
    const target = targetOf(conversation, this.me);
    if (target.room !== undefined && !this.rooms.isMember(target.room)) return false;
    const entry: OutboxEntry = {
      ref: this.#ref('m'),
      order: this.#outbox.nextOrder(),
      conversation,
      to: target.to ?? null,
      room: target.room ?? null,
      text,
      sentAt: Date.now(),
      serverAt: this.clock.now(),
      failure: null,
      replyTo: this.#replyRef(conversation),
      ...(files.length > 0 ? { files } : {}),
    };
    this.replyingTo = null;
    this.#typingSender.stop();
    this.conversations.keepDraft(conversation, '');
    this.messages.addOwn({ ...entry, from: this.me });
    this.#outbox.add(entry);
    this.conversations.arrived(conversation, true);
    this.#saveMetaSoon();
    return true;
  }

  /** My action frames not answered yet (their errors are explained as such, never as a failed resume). */
  readonly #actionRefs = new Set<string>();

  /** The message the composer's next send answers (null: none). */
  replyingTo = $state<ChatMessage | null>(null);

  /** Sends an action frame on `message`; false when it could not go out (offline) or has no server id yet. */
  #act(
    message: ChatMessage,
    frame: { type: 'edit'; text: string } | { type: 'delete' } | { type: 'react' | 'unreact'; emoji: string },
  ): boolean {
    if (message.id === null || message.deleted) return false;
    const id = this.#ref('a');
    if (!this.connection.send({ ...frame, id, message: message.id })) {
      // Not queued like a send: an edit or a reaction made offline could land long after it meant anything.
      this.#notify('You are offline: try that again once the connection is back.');
      return false;
    }
    this.#actionRefs.add(id);
    return true;
  }

  /** Replaces the text of a message of mine. */
  edit(message: ChatMessage, text: string): boolean {
    if (!message.mine || text.trim() === '' || text.length > this.maxTextLength || text === message.text) return false;
    return this.#act(message, { type: 'edit', text });
  }

  /** Deletes a message (mine, or any in a room I own). */
  remove(message: ChatMessage): boolean {
    return this.canDelete(message) && this.#act(message, { type: 'delete' });
  }

  /** Whether I may delete `message`: mine, or in a room I own. */
  canDelete(message: ChatMessage): boolean {
    if (message.mine) return true;
    return message.room !== null && this.rooms.joined.some((r) => r.name === message.room && r.owner === this.me);
  }

  /** Adds my reaction `emoji` to `message`, or takes it back if I gave it. */
  toggleReaction(message: ChatMessage, emoji: string): boolean {
    const mine = message.reactions.some((r) => r.emoji === emoji && r.by.includes(this.me));
    return this.#act(message, { type: mine ? 'unreact' : 'react', emoji });
  }

  /** What the next send answers, if the reply is to a message of `conversation` still there. */
  #replyRef(conversation: ConversationId): OutboxEntry['replyTo'] {
    const m = this.replyingTo;
    if (!m || m.conversation !== conversation || m.id === null || m.seq === null || m.deleted) return null;
    return { id: m.id, seq: m.seq, from: m.from, text: m.text.slice(0, 200) };
  }

  /** The reader reached the top of the open conversation: loads older messages (from the store, else the server). */
  loadOlder(): void {
    void this.#pager.older(this.conversations.active);
  }

  /** The composer of the open conversation now holds `text` (typing indicator, draft). */
  typed(text: string): void {
    this.conversations.keepDraft(this.conversations.active, text);
    this.#typingSender.input(this.conversations.active, text);
  }

  /** Opens a conversation (and loads its recent history if fewer than a page is here). */
  open(conversation: ConversationId): void {
    if (conversation !== this.conversations.active) this.#typingSender.stop();
    this.conversations.open(conversation);
    this.#loadRecent(conversation);
    this.#saveMetaSoon();
  }

  /** Opens the direct conversation with `peer` (listing it if new). */
  openDirect(peer: string): void {
    this.open(directConversation(this.me, peer));
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

  /** Problems worth telling that are not about the connection itself, one per kind. */
  get notices(): readonly Notice[] {
    return this.#notices.list;
  }

  /** Hides a notice. */
  dismiss(id: number): void {
    this.#notices.dismiss(id);
  }

  /** Why this tab cannot chat under its name right now, if that is why it is not connected. */
  get conflict(): Conflict | null {
    return this.#conflict.of(this.connection.status);
  }

  /** "Use this tab instead": connects again, taking my id from the connection that holds it. */
  takeOver(): void {
    this.#conflict.takeOver();
    this.connection.retryNow();
  }

  #handle(frame: ServerFrame): void {
    this.#apply(frame);
    if (frame.type !== 'pong' && frame.type !== 'typing' && frame.type !== 'presence') this.#saveMetaSoon();
  }

  #apply(frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome':
        return this.#welcome(frame);
      case 'pong':
        this.clock.fromPong(frame.sentAt, frame.serverAt);
        return;
      case 'presence':
        this.online.apply(frame.joined, frame.left);
        // Someone who comes back may have chosen another name meanwhile.
        displayNames.refresh(frame.joined);
        for (const id of frame.joined) this.messages.addNote(LOBBY, `${displayNames.of(id)} joined the chat`, frame.serverAt);
        for (const id of frame.left) {
          if (!frame.joined.includes(id)) this.messages.addNote(LOBBY, `${displayNames.of(id)} left the chat`, frame.serverAt);
        }
        return;
      case 'message': {
        // Live, or replayed after a resume: one copy per (conversation, seq) either way.
        const message = this.messages.add(frame);
        this.#hold(frame.conversation, frame.seq);
        if (!message) return;
        const mine = frame.from === this.me;
        this.typing.stopped(message.conversation, frame.from);
        this.conversations.arrived(message.conversation, mine);
        if (!mine) this.#receipts.add('delivered', frame.from, frame.id);
        // A gap below the newest messages (the server should never leave one): page it in rather than hide what is older.
        if (this.messages.gapBelow(message.conversation)) void this.#pager.older(message.conversation);
        return;
      }
      case 'ack':
        if (this.#actionRefs.delete(frame.ref)) return this.#hold(frame.conversation, frame.seq);
        this.#outbox.acked(frame.ref);
        this.#hold(frame.conversation, frame.seq);
        this.messages.ack(frame);
        return;
      case 'history':
        if (frame.ref !== undefined) this.#answer(frame.ref, frame);
        return;
      case 'resumed':
        // More was missed than one replay carries: show the newest, and page back into the gap.
        for (const conversation of frame.truncated) void this.#pager.latest(conversation as ConversationId);
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
        for (const id of frame.joined)
          if (id !== this.me) this.messages.addNote(conversation, `${displayNames.of(id)} joined the room`, frame.serverAt);
        for (const id of frame.left) {
          if (id !== this.me && !frame.joined.includes(id))
            this.messages.addNote(conversation, `${displayNames.of(id)} left the room`, frame.serverAt);
        }
        return;
      }
      case 'room-left':
        this.rooms.left(frame.room);
        this.#forgetRoom(frame.room);
        this.#answered(frame.ref);
        return;
      case 'room-deleted':
        this.rooms.deleted(frame.room);
        this.#forgetRoom(frame.room);
        if (!this.#answered(frame.ref)) this.#notify(`${frame.by} deleted the room “${frame.room}”; you are no longer in it.`);
        return;
      case 'action':
        // Live or replayed: its seq is held like a message's, and it changes the message it names.
        this.messages.applyAction(frame);
        this.#hold(frame.conversation, frame.seq);
        return;
      case 'error':
        return this.#error(frame);
      default:
        frame satisfies never;
    }
  }

  #welcome(frame: WelcomeFrame): void {
    this.#conflict.welcomed();
    this.clock.fromWelcome(frame.serverAt);
    this.online.reset(frame.online, frame.onlineCount);
    this.maxTextLength = frame.limits.maxTextLength;
    // A new ticket with every connection: uploads that waited for one go now.
    this.uploads.granted(frame.uploads ?? null);
    this.node = frame.node;
    const before = this.rooms.joined.map((room) => room.name);
    this.rooms.reset(frame.rooms, frame.memberOf);
    // Rooms I was in that went away while I was offline.
    for (const room of before) if (!this.rooms.isMember(room)) this.#forgetRoom(room);
    const open = parseConversation(this.conversations.active, this.me);
    if (open.kind === 'room' && !this.rooms.isMember(open.room)) this.conversations.forget(this.conversations.active);
    // What I missed: the server replays it (then `resumed`) before any live traffic.
    this.connection.send({ type: 'resume', cursors: this.#cursors.toRecord() });
    // Then my messages that were never acknowledged, in the order written, with their original ids.
    this.#outbox.ready();
    // A round trip right away gives a much better clock estimate than the welcome.
    this.connection.send({ type: 'ping', id: 'sync', sentAt: Date.now() });
    // The welcome names my rooms but not their members: joining a room I am in answers with them.
    for (const room of frame.memberOf) void this.#roomCommand('sync', room);
    // Receipts queued while offline.
    this.#receipts.flush();
    this.#loadRecent(this.conversations.active);
  }

  #error(frame: ErrorFrame): void {
    if (frame.ref !== undefined) {
      if (this.#answer(frame.ref, null)) return;
      if (this.#actionRefs.delete(frame.ref)) return this.#notify(`That did not work: ${frame.message}.`, frame.code);
      const pending = this.messages.pending(frame.ref);
      if (pending) {
        // Not stored this time: it stays pending and goes again, with the same id.
        if (frame.code === 'STORAGE_FAILED') return void this.#outbox.retryLater(frame.ref);
        const reason = explainSendError(frame, pending.to, pending.room);
        this.messages.fail(frame.ref, reason);
        this.#outbox.failed(frame.ref, reason);
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
    // The resume could not replay what I missed: a new connection resumes again from the same cursors.
    if (frame.code === 'STORAGE_FAILED') return this.connection.restart('The server could not send what you missed.');
    // Typing frames carry no id: this is a typing notice to a room I just left.
    if (frame.code === 'NOT_ROOM_MEMBER' && frame.ref === undefined) return;
    if (frame.code === 'RATE_LIMITED') return this.#rateLimited();
    this.#notify(`The server said: ${frame.message}.`, frame.code);
  }

  /**
   * The server dropped frames of mine (the connection paces itself, so this
   * takes other limits than the welcome's, or a clock that jumped). The error
   * names none of them: once the server's bucket has had time to refill, my
   * unacknowledged messages go again with their ids (a retry, stored once),
   * and the notice goes with the problem.
   */
  #rateLimited(): void {
    this.#notices.show('RATE_LIMITED', 'Sending too fast for the server: some of what you sent is being sent again.', {
      clearAfterMs: RATE_LIMIT_QUIET_MS,
      onClear: () => this.#outbox.resend(),
    });
  }

  #lost(reason: string): void {
    // My pending messages stay pending: the outbox sends them again after the next resume.
    this.#outbox.lost();
    this.uploads.lost();
    this.typing.clear();
    this.#typingSender.reset();
    for (const [ref, command] of this.#roomCommands) {
      this.#roomCommands.delete(ref);
      command.resolve(`Not connected: ${reason}`);
    }
    for (const ref of [...this.#historyRequests.keys()]) this.#answer(ref, null);
  }

  /** Shows what the store kept for this id; the connection waits for it (the resume cursors come from it). */
  async #restore(): Promise<void> {
    let store: ChatStore;
    try {
      store = await this.#openStore();
    } catch (err) {
      console.warn('chorus: could not open the local store', err);
      store = new MemoryStore();
    }
    this.#resolveStore(store);
    if (this.#stopped) return;
    try {
      const saved = await store.load(RESTORE_RECENT);
      if (this.#stopped) return;
      this.#cursors = new Cursors(saved.meta.cursors ?? {});
      if (saved.meta.rooms) this.rooms.reset(saved.meta.rooms.rooms, saved.meta.rooms.memberOf);
      if (saved.meta.conversations) this.conversations.restore(saved.meta.conversations);
      this.messages.restore(saved.messages, saved.outbox);
      for (const message of saved.messages) this.#cursors.hold(message.conversation, message.seq);
      this.#outbox.restore(saved.outbox);
      this.#restoreDone = true;
    } catch (err) {
      console.warn('chorus: could not read the local store', err);
    }
  }

  /** Loads a page of `conversation` if fewer than a page is shown and I may read it. */
  #loadRecent(conversation: ConversationId): void {
    const ref = parseConversation(conversation, this.me);
    if (ref.kind === 'room' && !this.rooms.isMember(ref.room)) return;
    void this.#pager.recent(conversation);
  }

  /** Asks the server for a page of history; null when offline or refused. */
  #fetchHistory(conversation: ConversationId, before: number | undefined, limit: number): Promise<HistoryPageFrame | null> {
    const id = this.#ref('h');
    const frame =
      before === undefined
        ? { type: 'history' as const, id, conversation, limit }
        : { type: 'history' as const, id, conversation, before, limit };
    if (!this.connection.send(frame)) return Promise.resolve(null);
    return new Promise((resolve) => this.#historyRequests.set(id, resolve));
  }

  /** Settles the history request `ref`; false when there is none. */
  #answer(ref: string, page: HistoryPageFrame | null): boolean {
    const resolve = this.#historyRequests.get(ref);
    if (!resolve) return false;
    this.#historyRequests.delete(ref);
    resolve(page);
    return true;
  }

  /** Seq `seq` of `conversation` is held: the resume cursor may move. */
  #hold(conversation: string, seq: number): void {
    if (this.#cursors.hold(conversation, seq)) this.#saveMetaSoon();
  }

  /** A room I am no longer in: its messages and cursor go (rejoining pages them in again). */
  #forgetRoom(room: string): void {
    const conversation = roomConversation(room);
    this.conversations.forget(conversation);
    this.messages.forget(conversation);
    this.#cursors.forget(conversation);
    this.#write((store) => store.deleteConversation(conversation));
  }

  /** Runs a write once the store is open; writes keep their call order. */
  #write(run: (store: ChatStore) => Promise<void>): void {
    void this.#store.then(run).catch((err: unknown) => console.warn('chorus: could not write to the local store', err));
  }

  #saveMetaSoon(): void {
    this.#metaTimer ??= setTimeout(() => void this.#saveMeta(), META_DELAY_MS);
  }

  /** Writes the small records: cursors, rooms, the conversation list. Resolves once the writes are queued. */
  #saveMeta(): Promise<void> {
    clearTimeout(this.#metaTimer);
    this.#metaTimer = undefined;
    // Not before the restore: that would write an empty state over the kept one.
    return (this.#restored ?? Promise.resolve()).then(() => {
      if (!this.#restoreDone) return;
      const cursors = this.#cursors.toRecord(Infinity);
      const rooms = this.rooms.snapshot();
      const conversations = this.conversations.snapshot();
      this.#write((store) => store.putMeta('cursors', cursors));
      this.#write((store) => store.putMeta('rooms', rooms));
      this.#write((store) => store.putMeta('conversations', conversations));
    });
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

  /** Shows a notice; one of the same `kind` (by default: the same text) is replaced, never stacked. */
  #notify(text: string, kind: string = text): void {
    this.#notices.show(kind, text);
  }

  #ref(kind: string): string {
    return `${this.#refPrefix}-${kind}${++this.#refs}`;
  }

  #describe(id: ConversationId): OpenConversation {
    const ref = parseConversation(id, this.me);
    if (ref.kind === 'lobby') return { kind: 'lobby', id };
    if (ref.kind === 'dm') {
      const online = this.connection.status.kind === 'online' ? this.online.has(ref.peer) : null;
      return { kind: 'dm', id, peer: ref.peer, online };
    }
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
