import { type HubMetrics, NO_METRICS } from './metrics.js';
import {
  CloseCode,
  MAX_WELCOME_ONLINE,
  parseConversation,
  TYPING_REFRESH_MS,
  TYPING_TTL_MS,
  type ErrorCode,
  type RoomSummary,
} from '@chorus/protocol';
import { BackendUnavailableError, type Admission, type HubBackend, type StateView } from './backend.js';
import type { MessageFiles } from './message-files.js';
import type { Codec } from './codec.js';
import { Connection, type FrameHandler } from './connection.js';
import type { Command, Delivery, Envelope, OutEvent, Revocation, Target, Typing } from './events.js';
import { RESUME_WAIT_MS } from './limits.js';
import type { MessageLog, StoredMessage } from './message-log.js';
import { BatchedUpdates } from './batched-updates.js';
import { ConversationReads } from './conversation-reads.js';
import { envelopeOf } from './envelope.js';
import { LocalSessions } from './local-sessions.js';
import { OutboundReceipts } from './outbound-receipts.js';
import { ReceiptBook } from './receipt-book.js';
import { runRoomCommand } from './room-commands.js';
import { MessageSender } from './message-sender.js';
import { MessageActions } from './message-actions.js';
import { entryEvents } from './log-entries.js';
import type { Session } from './session.js';
import { OfflineWaiters, TAKEOVER_WAIT_MS } from './takeover.js';
import { textCatchUp } from './text-catch-up.js';

/** The few log calls the hub makes (pino's signature; the hub does not import pino). */
export interface HubLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface HubOptions {
  readonly backend: HubBackend;
  /** Durable storage of messages (SQLite or PostgreSQL behind it). */
  readonly messages: MessageLog;
  /** This node's name: unique in the service for as long as it runs; prefixes message ids. */
  readonly node: string;
  readonly log: HubLogger;
  /** The server's clock, in ms since the epoch (injected in tests). */
  readonly clock?: () => number;
  /** Frames per second each connection may send, and the burst (none: unlimited). */
  readonly rate?: { readonly perSecond: number; readonly burst: number };
  /** What the node counts for its operators (default: nothing). */
  readonly metrics?: HubMetrics;
  /** Files shared in messages (none: sends with files are refused, welcomes offer no uploads). */
  readonly files?: MessageFiles;
}

/** What a refused admission tells the client. */
const REFUSALS = { full: 'SERVER_FULL', taken: 'CLIENT_ID_TAKEN', 'too-many': 'TOO_MANY_CONNECTIONS' } as const;

/**
 * The chat core of one node: admission, routing, rooms, presence, receipts and
 * typing for the sessions connected here. It knows neither the transport
 * (sessions) nor where the shared state lives (the backend).
 *
 * It is the composition of its parts, each in a file of its own: the local
 * sessions and their fanout (LocalSessions), the updates sent in batches
 * (BatchedUpdates: presence, rooms, receipt counts), a send from frame to ack
 * (MessageSender), history and resume (ConversationReads), room commands
 * (runRoomCommand), receipts on their way to senders (OutboundReceipts),
 * take-overs of an id (takeover.ts) and the text clients' catch-up
 * (text-catch-up.ts). What stays here: admission and release, the dispatch of
 * commands, and what the backend delivers.
 */
export class Hub implements FrameHandler {
  /** Set by closeAll: the server is shutting down. */
  #closingAll = false;
  readonly #backend: HubBackend;
  readonly #messages: MessageLog;
  readonly #node: string;
  readonly #log: HubLogger;
  readonly #clock: () => number;
  readonly #rate: HubOptions['rate'];
  readonly metrics: HubMetrics;
  readonly #onLimited = () => this.metrics.rateLimited();
  readonly #sessions: LocalSessions;
  #connectionCount = 0;
  readonly #receipts = new ReceiptBook();
  readonly #sender: MessageSender;
  readonly #actions: MessageActions;
  readonly #updates: BatchedUpdates;
  readonly #outboundReceipts: OutboundReceipts;
  readonly #reads: ConversationReads;
  readonly #revocationListeners = new Set<(revocation: Revocation) => void>();
  /** Connections taking an id over, waiting for it to go offline. */
  readonly #takeovers = new OfflineWaiters();
  /**
   * Connections whose server-side cursors must not follow live messages in some
   * private conversations ('all': any): their catch-up left older messages for
   * the next connect (or failed), and a cursor past a live one would skip them.
   */
  readonly #behind = new WeakMap<Connection, ReadonlySet<string> | 'all'>();

  readonly #files: MessageFiles | undefined;

  constructor(options: HubOptions) {
    this.#backend = options.backend;
    this.#messages = options.messages;
    this.#node = options.node;
    this.#log = options.log;
    this.#clock = options.clock ?? Date.now;
    this.#rate = options.rate;
    this.metrics = options.metrics ?? NO_METRICS;
    const view = () => this.#backend.view;
    this.#sessions = new LocalSessions(view);
    this.#updates = new BatchedUpdates({
      sessions: this.#sessions,
      view,
      receipts: this.#receipts,
      clock: this.#clock,
      saveReceiptCounts: (counts) => this.#messages.saveReceiptCounts(counts),
    });
    this.#outboundReceipts = new OutboundReceipts(this.#backend);
    const mayRead = (clientId: string, conversation: string) => this.#reads.mayRead(clientId, conversation);
    this.#actions = new MessageActions({
      backend: this.#backend,
      messages: this.#messages,
      node: this.#node,
      clock: this.#clock,
      log: this.#log,
      mayRead,
      ...(options.files ? { onDeleted: (id: string) => options.files?.messageDeleted(id) } : {}),
    });
    this.#files = options.files;
    this.#sender = new MessageSender({
      actions: this.#actions,
      ...(options.files ? { files: options.files } : {}),
      backend: this.#backend,
      messages: this.#messages,
      node: this.#node,
      clock: this.#clock,
      receipts: this.#receipts,
      log: this.#log,
      metrics: this.metrics,
    });
    this.#reads = new ConversationReads({
      messages: this.#messages,
      receipts: this.#receipts,
      view,
      metrics: this.metrics,
      onError: (err, clientId) => this.#log.error({ err, clientId }, 'resume failed'),
    });
  }

  start(): Promise<void> {
    return this.#backend.start({
      deliver: (delivery) => this.#deliver(delivery),
      presence: (change) => {
        if (!change.online) this.#takeovers.offline(change.clientId);
        this.#updates.presence(change);
      },
      room: (change) => this.#updates.room(change),
      interrupted: () => this.#dropAll(),
    });
  }

  /**
   * The backend lost deliveries owed to this node's clients: each reconnects
   * (any node) and resumes from storage, which has every acknowledged message.
   */
  #dropAll(): void {
    if (this.#sessions.size > 0) this.#log.warn({ connections: this.#sessions.size }, 'closing every connection: reconnect and resume');
    for (const connection of [...this.#sessions.all()]) {
      connection.session.close(CloseCode.SERVICE_RESTART, 'reconnect and resume');
      void this.#release(connection);
    }
  }

  /** The number of admitted connections on this node. */
  /** This node's replica of presence and rooms (who may see a file, for the file routes). */
  get view(): StateView {
    return this.#backend.view;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /**
   * A transport accepted a connection: admit it (asynchronously) and return its
   * handle. With `resume`, live traffic waits for the client's resume frame.
   * With `takeover`, an id held by another connection is taken from it (that
   * one is closed with REPLACED) instead of being refused as taken.
   */
  open(session: Session, codec: Codec, options: { resume?: boolean; ip?: string; multi?: boolean; takeover?: boolean } = {}): Connection {
    const rate = this.#rate && { ...this.#rate, clock: this.#clock, onLimited: this.#onLimited };
    const connection = new Connection(this.#nextConnectionId(), session, codec, this, rate);
    void this.#admit(connection, options.resume === true, options.ip ?? '', options.multi === true, options.takeover === true);
    return connection;
  }

  /**
   * Tells every node holding connections of the user that some of its sessions
   * are revoked; each node's listeners (the transport, which knows sessions)
   * end those connections.
   */
  async revokeEverywhere(revocation: Revocation): Promise<void> {
    await this.#backend.route({ target: { kind: 'client', clientId: revocation.user }, payload: { kind: 'revoked', revocation } });
  }

  /** Calls `listener` for revocations reaching this node (this node's own included). */
  onRevocation(listener: (revocation: Revocation) => void): void {
    this.#revocationListeners.add(listener);
  }

  /** Refuses a session before admission (e.g. a bad client id): tells it why, in its protocol, and closes. */
  refuse(session: Session, codec: Codec, code: ErrorCode, detail?: string): void {
    this.metrics.refused(code.toLowerCase());
    new Connection(this.#nextConnectionId(), session, codec, this).refuse(code, detail);
  }

  /** Closes every connection with `code` (e.g. going away on shutdown) and releases them. */
  async closeAll(code: number, reason: string): Promise<void> {
    this.#closingAll = true;
    const releases: Promise<void>[] = [];
    for (const connection of [...this.#sessions.all()]) {
      connection.session.close(code, reason);
      releases.push(this.#release(connection));
    }
    await Promise.all(releases);
    this.#updates.stop();
  }

  handleFrame(connection: Connection, frame: string): Promise<void> | void {
    const command = connection.codec.decode(frame, this.#clock());
    const pending = this.#handle(connection, command);
    // A send answers its own failures (STORAGE_FAILED, or an ack when only the live route failed): no extra promise per message.
    if (command.kind === 'send') return pending;
    return pending?.catch((err: unknown) => {
      // A command the shared state could not serve gets a retryable answer, never silence.
      const ref = 'ref' in command ? command.ref : undefined;
      if (err instanceof BackendUnavailableError) return connection.emit({ kind: 'error', code: 'UNAVAILABLE', ref });
      this.#log.error({ err, clientId: connection.clientId, command: command.kind }, 'a command failed');
      connection.emit({ kind: 'error', code: 'INTERNAL', ref });
    });
  }

  handleClosed(connection: Connection): void {
    if (connection.state === 'open') void this.#release(connection);
  }

  // ---- admission -----------------------------------------------------------

  async #admit(connection: Connection, resume: boolean, ip: string, multi: boolean, takeover: boolean): Promise<void> {
    const { clientId } = connection;
    let admission;
    try {
      admission = await this.#backend.admit(clientId, ip, multi);
      if (admission === 'taken' && takeover && connection.state !== 'closed') admission = await this.#takeOver(clientId, ip, multi);
    } catch (err) {
      const unavailable = err instanceof BackendUnavailableError;
      this.metrics.refused(unavailable ? 'unavailable' : 'internal');
      if (unavailable) this.#log.warn({ clientId, reason: err.message }, 'refused: shared state unavailable');
      else this.#log.error({ err, clientId }, 'admission failed');
      if (connection.state !== 'closed') connection.refuse(unavailable ? 'UNAVAILABLE' : 'INTERNAL');
      return;
    }
    if (connection.state === 'closed') {
      // The client hung up while we asked: give the permit straight back.
      if (admission === 'admitted') await this.#backend.release(clientId).catch(() => {});
      return;
    }
    if (admission !== 'admitted') {
      this.metrics.refused(admission);
      this.#log.info({ clientId, protocol: connection.codec.name, reason: admission }, 'refused');
      connection.refuse(REFUSALS[admission]);
      return;
    }
    try {
      // Before the welcome: from now on a private message to this id is kept for it while it is away.
      await this.#messages.markSeen(clientId);
    } catch (err) {
      this.#log.error({ err, clientId }, 'could not record the client as seen');
    }
    if (connection.isClosed) {
      await this.#backend.release(clientId).catch(() => {});
      return;
    }
    // Updates from before this client joined go to the others only (its welcome has them).
    this.#updates.flush();
    // Live traffic waits for the replay: the client's resume frame, or the server's catch-up.
    if (resume || connection.codec.cursors === 'server') connection.hold(RESUME_WAIT_MS);
    this.#sessions.add(connection);
    this.metrics.admitted();
    const view = this.#backend.view;
    const online = view.online();
    connection.emit({
      kind: 'welcome',
      clientId,
      // A big lobby is a count and a first page, not a list of everyone in every welcome.
      online:
        online.length > MAX_WELCOME_ONLINE
          ? [clientId, ...online.filter((id) => id !== clientId).slice(0, MAX_WELCOME_ONLINE - 1)]
          : online,
      onlineCount: online.length,
      rooms: view.rooms(),
      memberOf: view.roomsOf(clientId),
      serverAt: this.#clock(),
      // Told, so that a well-behaved client paces itself and is never answered RATE_LIMITED.
      frameRate: this.#rate && { perSecond: this.#rate.perSecond, burst: this.#rate.burst },
      ...(this.#files ? { uploads: this.#files.grant(clientId) } : {}),
    });
    this.#log.info({ clientId, protocol: connection.codec.name }, 'connected');
    if (connection.codec.cursors === 'server') {
      await this.#catchUp(connection);
      // It may have hung up meanwhile, when handleClosed took it for one still being admitted.
      if (connection.isClosed) return this.#release(connection);
    }
    connection.opened();
  }

  /**
   * Asks whichever node holds `clientId` to end its connections (REPLACED), waits
   * for the presence feed to report the id free, and asks for admission again.
   * Still `taken` if the old connection is not released in time, or someone
   * else got the id first.
   */
  async #takeOver(clientId: string, ip: string, multi: boolean): Promise<Admission> {
    const released = this.#takeovers.wait(clientId, TAKEOVER_WAIT_MS);
    const held = await this.#backend.route({ target: { kind: 'client', clientId }, payload: { kind: 'replaced', clientId } });
    // Not online anywhere any more: it went by itself meanwhile.
    if (!held) released.cancel();
    if (held && !(await released.offline)) return 'taken';
    this.#log.info({ clientId }, 'taking over');
    return this.#backend.admit(clientId, ip, multi);
  }

  /**
   * A client whose protocol keeps no cursors (text): sends the private
   * messages kept for it while it was away, in their conversations' order,
   * then the live traffic held meanwhile, and moves its server-side cursors
   * past both.
   */
  async #catchUp(connection: Connection): Promise<void> {
    const { clientId } = connection;
    let caught;
    try {
      caught = await textCatchUp(this.#messages, clientId);
    } catch (err) {
      this.#log.error({ err, clientId }, 'could not send the private messages kept for a text client');
    }
    if (!caught || connection.isClosed) {
      // Its cursors stay where they were: what was kept comes at the next connect.
      this.#behind.set(connection, 'all');
      connection.release(new Map());
      return;
    }
    for (const event of await entryEvents(this.#messages, caught.messages).catch(() =>
      caught.messages.filter((m: StoredMessage) => m.kind === undefined).map(plainEvent),
    )) {
      connection.emit(event.kind === 'action' ? { ...event, viewer: clientId } : event);
    }
    const { through, behind } = caught;
    if (behind.size > 0) this.#behind.set(connection, behind);
    const advanced = new Map(through);
    for (const key of connection.release(through)) {
      if (parseConversation(key.conversation)?.kind !== 'direct' || behind.has(key.conversation)) continue;
      if (key.seq > (advanced.get(key.conversation) ?? 0)) advanced.set(key.conversation, key.seq);
    }
    for (const [conversation, seq] of advanced) this.#messages.advanceTextCursor({ clientId, conversation, seq });
  }

  /** A private message reached its recipient live: a text client's cursor moves past it. */
  #deliveredLive(envelope: Pick<Envelope, 'to' | 'conversation' | 'seq'>): void {
    const to = envelope.to!;
    for (const connection of this.#sessions.tabsOf(to)) {
      if (connection.codec.cursors !== 'server' || connection.holding) continue;
      const behind = this.#behind.get(connection);
      if (behind === 'all' || behind?.has(envelope.conversation)) continue;
      this.#messages.advanceTextCursor({ clientId: to, conversation: envelope.conversation, seq: envelope.seq });
      return;
    }
  }

  async #release(connection: Connection): Promise<void> {
    const { clientId } = connection;
    if (!this.#sessions.remove(connection)) return;
    connection.state = 'closed';
    this.#log.info({ clientId }, 'disconnected');
    try {
      // Before the others hear that it left: a reload on another node then reads its ticks from storage.
      if (this.#sessions.tabsOf(clientId).length === 0) await this.#messages.flushProgress?.().catch(() => {});
      await this.#backend.release(clientId);
    } catch (err) {
      // While the server shuts down, the backend (the primary's IPC) may go first:
      // the permits go with it, so a failed release then is expected, not an error.
      if (this.#closingAll) this.#log.debug({ err, clientId }, 'release skipped: shutting down');
      else this.#log.error({ err, clientId }, 'release failed');
    }
  }

  // ---- commands --------------------------------------------------------------

  #handle(connection: Connection, command: Command): Promise<void> | void {
    const view = this.#backend.view;
    switch (command.kind) {
      case 'send':
        return this.#sender.send(connection, command);
      case 'create-room':
      case 'join-room':
      case 'leave-room':
      case 'delete-room':
        return runRoomCommand(connection, command, this.#backend, this.#files && ((room) => this.#files?.roomDeleted(room)));
      case 'list-rooms':
        connection.emit({ kind: 'rooms', reply: true, ref: command.ref, rooms: view.rooms().sort(byName), deleted: [] });
        return;
      case 'edit':
      case 'delete':
      case 'react':
      case 'unreact':
        return this.#actions.act(connection, command);
      case 'recent':
        return this.#reads.recent(connection, command.conversation);
      case 'history':
        return this.#reads.history(connection, command);
      case 'resume':
        return this.#reads.resume(connection, command.cursors);
      case 'list-users':
        connection.emit({ kind: 'users', online: view.online().sort() });
        return;
      case 'receipt':
        return this.#outboundReceipts.add(command.from, { by: connection.clientId, status: command.status, ids: command.ids });
      case 'typing':
        return this.#typing(connection, command);
      case 'time':
        connection.emit({ kind: 'time', serverAt: this.#clock() });
        return;
      case 'upload-ticket':
        connection.emit({ kind: 'upload-ticket', grant: this.#files?.grant(connection.clientId) ?? null });
        return;
      case 'help':
        connection.emit({ kind: 'help' });
        return;
      case 'ping':
        connection.emit({ kind: 'pong', ref: command.ref, sentAt: command.sentAt, serverAt: this.#clock() });
        return;
      case 'invalid':
        connection.emit({ kind: 'error', code: command.code, detail: command.detail, ref: command.ref });
        return;
    }
  }

  async #typing(connection: Connection, command: Extract<Command, { kind: 'typing' }>): Promise<void> {
    const from = connection.clientId;
    const conversation = command.room !== null ? `#${command.room}` : (command.to ?? '*');
    // Clients refresh an indicator every TYPING_REFRESH_MS; anything faster is dropped here.
    const now = this.#clock();
    if (command.active && now - (connection.typingSentAt.get(conversation) ?? -Infinity) < TYPING_REFRESH_MS / 2) return;
    if (command.active) connection.typingSentAt.set(conversation, now);
    else connection.typingSentAt.delete(conversation);
    let target: Target = { kind: 'all' };
    if (command.room !== null) {
      if (!this.#backend.view.room(command.room)?.members.has(from)) {
        return connection.emit({ kind: 'error', code: 'NOT_ROOM_MEMBER', detail: command.room });
      }
      target = { kind: 'room', room: command.room };
    } else if (command.to !== null) {
      target = { kind: 'client', clientId: command.to };
    }
    const typing: Typing = { from, to: command.to, room: command.room, active: command.active, expiresAt: now + TYPING_TTL_MS };
    await this.#backend.route({ target, payload: { kind: 'typing', typing } });
  }

  // ---- deliveries and changes from the backend --------------------------------

  #deliver(delivery: Delivery): void {
    const { payload } = delivery;
    switch (payload.kind) {
      case 'message': {
        this.#updates.flush();
        const { envelope } = payload;
        const { target } = delivery;
        this.metrics.delivered(
          this.#sessions.fanout(target, { kind: 'message', envelope }, { origin: delivery.origin, key: envelope }, payload.json),
        );
        if (target.kind === 'client' && envelope.to === target.clientId && envelope.from !== envelope.to) this.#deliveredLive(envelope);
        return;
      }
      case 'action': {
        const { action } = payload;
        const { target } = delivery;
        const viewer = target.kind === 'client' ? target.clientId : undefined;
        this.#sessions.fanout(target, { kind: 'action', action, viewer }, { key: action });
        // An action on a private message moves a text client's cursor like a message does.
        if (target.kind === 'client' && action.to === target.clientId && action.from !== action.to) this.#deliveredLive(action);
        return;
      }
      case 'probe':
        return;
      case 'revoked':
        for (const listener of this.#revocationListeners) listener(payload.revocation);
        return;
      case 'replaced':
        for (const connection of [...this.#sessions.tabsOf(payload.clientId)]) {
          connection.refuse('REPLACED');
          void this.#release(connection);
        }
        return;
      case 'typing':
        this.#sessions.fanout(delivery.target, { kind: 'typing', typing: payload.typing }, { client: payload.typing.from });
        return;
      case 'receipts':
        return this.#updates.receipts(payload.to, payload.receipts);
    }
  }

  #nextConnectionId(): string {
    return `${this.#node}:${(++this.#connectionCount).toString(36)}`;
  }
}

/** A stored entry as a plain message event (when what it refers to could not be looked up). */
function plainEvent(m: StoredMessage): OutEvent {
  return { kind: 'message', envelope: envelopeOf(m) };
}

function byName(a: RoomSummary, b: RoomSummary): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
