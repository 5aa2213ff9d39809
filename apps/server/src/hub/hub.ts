import {
  CloseCode,
  CLIENT_ID_PATTERN,
  MAX_WELCOME_ONLINE,
  directConversation,
  LOBBY,
  parseConversation,
  roomConversation,
  roomNameProblem,
  TYPING_REFRESH_MS,
  TYPING_TTL_MS,
  type ErrorCode,
  type RoomSummary,
} from '@chorus/protocol';
import { BackendUnavailableError, type Admission, type HubBackend } from './backend.js';
import type { Codec } from './codec.js';
import { Connection, type FrameHandler, type MessageKey } from './connection.js';
import type { Command, Delivery, Envelope, OutEvent, PresenceChange, Receipt, Revocation, RoomChange, Target, Typing } from './events.js';
import { FrameCache } from './frame-cache.js';
import { presenceInterval, RESUME_LIMIT, RESUME_WAIT_MS } from './limits.js';
import type { MessageLog, StoredMessage, StoredReceiptCounts } from './message-log.js';
import { ownReceipts } from './own-receipts.js';
import { ReceiptBook } from './receipt-book.js';
import { RecentIds } from './recent-ids.js';
import type { OutFrame, Session } from './session.js';
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
}

type SendCommand = Extract<Command, { kind: 'send' }>;

/** What a refused admission tells the client. */
const REFUSALS = { full: 'SERVER_FULL', taken: 'CLIENT_ID_TAKEN', 'too-many': 'TOO_MANY_CONNECTIONS' } as const;
type RoomCommand = Extract<Command, { kind: 'create-room' | 'join-room' | 'leave-room' | 'delete-room' }>;

/**
 * The chat core of one node: admission, routing, rooms, presence, receipts and
 * typing for the sessions connected here. It knows neither the transport
 * (sessions) nor where the shared state lives (the backend).
 *
 * JSON clients get presence, room-list, room-member and receipt updates batched
 * per event-loop turn; whatever is pending is flushed before the next message is
 * delivered, so no update arrives after a message that depends on it.
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
  /** Admitted connections of this node, by client id (several for a registered user in several tabs). */
  readonly #clients = new Map<string, Connection[]>();
  /** Every admitted connection of this node (fanout to everyone). */
  readonly #connections = new Set<Connection>();
  /** The text-protocol ones: only they get a line per presence event. */
  readonly #textConnections = new Set<Connection>();
  #connectionCount = 0;
  readonly #receipts = new ReceiptBook();
  /** Messages this node has routed lately, so a client's retry is not delivered twice. */
  readonly #routed = new RecentIds(100_000);
  // Batched updates for JSON sessions (text sessions get one line per event at once).
  readonly #presence = new Map<string, boolean>();
  readonly #roomList = new Map<string, RoomSummary | null>();
  readonly #roomMembers = new Map<string, Map<string, boolean>>();
  /** Messages whose receipt counts changed since the last flush, by sender. */
  readonly #receiptUpdates = new Map<string, Set<string>>();
  #flushScheduled: NodeJS.Immediate | null = null;
  /** Receipts this node's clients sent during this turn, by the sender they are for. */
  readonly #outboundReceipts = new Map<string, Receipt[]>();
  #receiptRoute: NodeJS.Immediate | null = null;
  #presenceTimer: NodeJS.Timeout | null = null;
  #lastPresenceFlush = 0;
  #messageCount = 0;
  readonly #revocationListeners = new Set<(revocation: Revocation) => void>();
  /** Connections taking an id over, waiting for it to go offline. */
  readonly #takeovers = new OfflineWaiters();
  /**
   * Connections whose server-side cursors must not follow live messages in some
   * private conversations ('all': any): their catch-up left older messages for
   * the next connect (or failed), and a cursor past a live one would skip them.
   */
  readonly #behind = new WeakMap<Connection, ReadonlySet<string> | 'all'>();

  constructor(options: HubOptions) {
    this.#backend = options.backend;
    this.#messages = options.messages;
    this.#node = options.node;
    this.#log = options.log;
    this.#clock = options.clock ?? Date.now;
    this.#rate = options.rate;
  }

  start(): Promise<void> {
    return this.#backend.start({
      deliver: (delivery) => this.#deliver(delivery),
      presence: (change) => this.#onPresence(change),
      room: (change) => this.#onRoomChange(change),
      interrupted: () => this.#dropAll(),
    });
  }

  /**
   * The backend lost deliveries owed to this node's clients: each reconnects
   * (any node) and resumes from storage, which has every acknowledged message.
   */
  #dropAll(): void {
    if (this.#connections.size > 0) this.#log.warn({ connections: this.#connections.size }, 'closing every connection: reconnect and resume');
    for (const connection of [...this.#connections]) {
      connection.session.close(CloseCode.SERVICE_RESTART, 'reconnect and resume');
      void this.#release(connection);
    }
  }

  /** The number of admitted connections on this node. */
  get size(): number {
    return this.#connections.size;
  }

  /**
   * A transport accepted a connection: admit it (asynchronously) and return its
   * handle. With `resume`, live traffic waits for the client's resume frame.
   * With `takeover`, an id held by another connection is taken from it (that
   * one is closed with REPLACED) instead of being refused as taken.
   */
  open(session: Session, codec: Codec, options: { resume?: boolean; ip?: string; multi?: boolean; takeover?: boolean } = {}): Connection {
    const rate = this.#rate && { ...this.#rate, clock: this.#clock };
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
    new Connection(this.#nextConnectionId(), session, codec, this).refuse(code, detail);
  }

  /** Closes every connection with `code` (e.g. going away on shutdown) and releases them. */
  async closeAll(code: number, reason: string): Promise<void> {
    this.#closingAll = true;
    const releases: Promise<void>[] = [];
    for (const connection of [...this.#connections]) {
      connection.session.close(code, reason);
      releases.push(this.#release(connection));
    }
    await Promise.all(releases);
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
    this.#flush();
    // Live traffic waits for the replay: the client's resume frame, or the server's catch-up.
    if (resume || connection.codec.cursors === 'server') connection.hold(RESUME_WAIT_MS);
    this.#connections.add(connection);
    if (connection.codec.name === 'text') this.#textConnections.add(connection);
    const tabs = this.#clients.get(clientId);
    if (tabs) tabs.push(connection);
    else this.#clients.set(clientId, [connection]);
    const view = this.#backend.view;
    const online = view.online();
    connection.emit({
      kind: 'welcome',
      clientId,
      // A big lobby is a count and a first page, not a list of everyone in every welcome.
      online: online.length > MAX_WELCOME_ONLINE ? [clientId, ...online.filter((id) => id !== clientId).slice(0, MAX_WELCOME_ONLINE - 1)] : online,
      onlineCount: online.length,
      rooms: view.rooms(),
      memberOf: view.roomsOf(clientId),
      serverAt: this.#clock(),
      // Told, so that a well-behaved client paces itself and is never answered RATE_LIMITED.
      frameRate: this.#rate && { perSecond: this.#rate.perSecond, burst: this.#rate.burst },
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
    for (const message of caught.messages) connection.emit({ kind: 'message', envelope: envelopeOf(message) });
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
  #deliveredLive(envelope: Envelope): void {
    const to = envelope.to!;
    for (const connection of this.#clients.get(to) ?? []) {
      if (connection.codec.cursors !== 'server' || connection.holding) continue;
      const behind = this.#behind.get(connection);
      if (behind === 'all' || behind?.has(envelope.conversation)) continue;
      this.#messages.advanceTextCursor({ clientId: to, conversation: envelope.conversation, seq: envelope.seq });
      return;
    }
  }

  async #release(connection: Connection): Promise<void> {
    const { clientId } = connection;
    if (!this.#connections.delete(connection)) return;
    this.#textConnections.delete(connection);
    const tabs = this.#clients.get(clientId)!.filter((c) => c !== connection);
    if (tabs.length > 0) this.#clients.set(clientId, tabs);
    else this.#clients.delete(clientId);
    connection.state = 'closed';
    this.#log.info({ clientId }, 'disconnected');
    try {
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
        return this.#send(connection, command);
      case 'create-room':
      case 'join-room':
      case 'leave-room':
      case 'delete-room':
        return this.#roomCommand(connection, command);
      case 'list-rooms':
        connection.emit({ kind: 'rooms', reply: true, ref: command.ref, rooms: view.rooms().sort(byName), deleted: [] });
        return;
      case 'history':
        return this.#history(connection, command);
      case 'resume':
        return this.#resume(connection, command.cursors);
      case 'list-users':
        connection.emit({ kind: 'users', online: view.online().sort() });
        return;
      case 'receipt':
        return this.#receipt(connection, command);
      case 'typing':
        return this.#typing(connection, command);
      case 'time':
        connection.emit({ kind: 'time', serverAt: this.#clock() });
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

  async #send(connection: Connection, command: SendCommand): Promise<void> {
    const from = connection.clientId;
    const { ref } = command;
    const view = this.#backend.view;
    let recipients: number;
    let target: Target;
    let conversation: string;
    if (command.room !== null) {
      // A room message that cannot go out gets the error alone: an echo would say it went out.
      const room = view.room(command.room);
      if (!room) return connection.emit({ kind: 'error', code: 'ROOM_NOT_FOUND', detail: command.room, ref });
      if (!room.members.has(from)) return connection.emit({ kind: 'error', code: 'NOT_ROOM_MEMBER', detail: command.room, ref });
      connection.emit({ kind: 'echo', text: command.text });
      target = { kind: 'room', room: command.room };
      conversation = roomConversation(command.room);
      recipients = room.members.size - 1;
    } else if (command.to !== null) {
      // The original protocol's order: the echo, then the delivery or the error.
      connection.emit({ kind: 'echo', text: command.text });
      const to = command.to;
      // Most recipients are online: answered without a promise to wait for.
      const canReceive = this.#canReceive(to, connection.codec.name === 'json');
      if (!(canReceive === true || (canReceive !== false && (await canReceive)))) {
        return connection.emit({ kind: 'unknown-recipient', target: to, ref });
      }
      target = { kind: 'client', clientId: to };
      conversation = directConversation(from, to);
      recipients = to === from ? 0 : 1;
    } else {
      connection.emit({ kind: 'echo', text: command.text });
      target = { kind: 'all' };
      conversation = LOBBY;
      recipients = Math.max(0, view.onlineCount() - 1);
    }

    let stored: StoredMessage;
    let duplicate: boolean;
    try {
      const result = await this.#messages.append({
        id: `${this.#node}.${(++this.#messageCount).toString(36)}`,
        conversation,
        from,
        to: command.to,
        room: command.room,
        text: command.text,
        sentAt: command.sentAt,
        serverAt: this.#clock(),
        ref: ref ?? null,
      });
      stored = result.message;
      duplicate = result.duplicate;
    } catch (err) {
      this.#log.error({ err, clientId: from }, 'could not store a message');
      return connection.emit({ kind: 'error', code: 'STORAGE_FAILED', ref });
    }
    if (duplicate && !isRetryOf(stored, conversation, command.text)) {
      // The id names another message: acknowledging it would claim this one was stored.
      return connection.emit({ kind: 'error', code: 'ID_REUSED', detail: `id ${ref} was used for another message`, ref });
    }
    const envelope = envelopeOf(stored);
    const ack: OutEvent = {
      kind: 'ack',
      ref: ref ?? envelope.id,
      id: envelope.id,
      serverAt: envelope.serverAt,
      recipients,
      conversation,
      seq: envelope.seq,
    };
    if (envelope.to === from) {
      // A note to yourself needs no routing: acknowledge it, then deliver it, like the text echo.
      connection.emit(ack);
      connection.emit({ kind: 'message', envelope });
      return;
    }
    // A retry of a message this node routed is only acknowledged again. A retry of
    // one it did not route (sent before a crash or a reconnect to another node) is
    // routed: it may never have gone out; clients keep one copy per (conversation, seq).
    if (!(duplicate && this.#routed.has(envelope.id))) {
      this.#receipts.track(envelope.id, from, envelope.to, recipients);
      this.#routed.add(envelope.id);
      const delivery = { target, payload: { kind: 'message', envelope }, origin: connection.id } as const;
      try {
        // An offline recipient of a private message gets it when it resumes.
        await this.#backend.route(delivery);
        // The sender's other tabs see what it sent (to everyone and to rooms they get it anyway).
        if (target.kind === 'client' && view.connections(from) > 1) {
          await this.#backend.route({ ...delivery, target: { kind: 'client', clientId: from } });
        }
      } catch (err) {
        // Stored, so acknowledged all the same: recipients that missed it live get it when they resume.
        this.#log.warn({ err, clientId: from }, 'a stored message could not be routed live');
      }
    }
    connection.emit(ack);
  }

  /**
   * Whether a private message to `to` can be accepted: it is online, or (JSON
   * protocol only; text clients keep the original answer) it has connected
   * before, so it will get the message when it comes back.
   */
  #canReceive(to: string, keepForOffline: boolean): boolean | Promise<boolean> {
    if (!CLIENT_ID_PATTERN.test(to)) return false;
    if (this.#backend.view.isOnline(to)) return true;
    if (!keepForOffline) {
      // Not in this node's replica: it may have connected a moment ago elsewhere.
      return this.#backend.route({ target: { kind: 'client', clientId: to }, payload: { kind: 'probe' } });
    }
    return this.#messages.hasBeenSeen(to).catch(() => false);
  }

  /** Whether `clientId` may read `conversation`. */
  #mayRead(clientId: string, conversation: string): boolean {
    const parsed = parseConversation(conversation);
    if (!parsed) return false;
    if (parsed.kind === 'lobby') return true;
    if (parsed.kind === 'room') return this.#backend.view.room(parsed.room)?.members.has(clientId) ?? false;
    return parsed.a === clientId || parsed.b === clientId;
  }

  async #history(connection: Connection, command: Extract<Command, { kind: 'history' }>): Promise<void> {
    const { conversation, ref, before } = command;
    if (!this.#mayRead(connection.clientId, conversation)) {
      return connection.emit({ kind: 'error', code: 'NOT_IN_CONVERSATION', detail: conversation, ref });
    }
    const page = await this.#messages.history(conversation, command.limit + 1, before);
    const more = page.length > command.limit;
    const messages = page.slice(0, command.limit);
    const receipts = await ownReceipts(connection.clientId, messages, this.#receipts, this.#messages);
    connection.emit({ kind: 'history', ref, conversation, messages: messages.map(envelopeOf), more, receipts });
  }

  /**
   * Replays what the client missed since its cursors, in order per
   * conversation, then releases the live traffic held meanwhile (without what
   * the replay already carried). Private conversations the client has no cursor
   * for are replayed from the start: that is how offline messages arrive.
   */
  async #resume(connection: Connection, cursors: Readonly<Record<string, number>>): Promise<void> {
    const clientId = connection.clientId;
    const conversations = new Map<string, number>();
    for (const [conversation, seq] of Object.entries(cursors)) {
      if (this.#mayRead(clientId, conversation)) conversations.set(conversation, seq);
    }
    const replayed = new Map<string, number>();
    const truncated: string[] = [];
    try {
      for (const conversation of await this.#messages.directConversationsOf(clientId)) {
        if (!conversations.has(conversation)) conversations.set(conversation, 0);
      }
      for (const [conversation, after] of conversations) {
        const missed = await this.#messages.since(conversation, after, RESUME_LIMIT + 1);
        if (missed.length > RESUME_LIMIT) truncated.push(conversation);
        let last = after;
        const replay = missed.slice(0, RESUME_LIMIT);
        const receipts = await ownReceipts(clientId, replay, this.#receipts, this.#messages);
        for (const message of replay) {
          connection.emit({ kind: 'message', envelope: envelopeOf(message), receipts: receipts.get(message.id) });
          last = message.seq;
        }
        replayed.set(conversation, last);
      }
    } catch (err) {
      this.#log.error({ err, clientId }, 'resume failed');
      connection.emit({ kind: 'error', code: 'STORAGE_FAILED', detail: 'resume failed; reconnect to try again' });
    }
    connection.emit({ kind: 'resumed', conversations: Object.fromEntries(replayed), truncated });
    connection.release(replayed);
  }

  async #roomCommand(connection: Connection, command: RoomCommand): Promise<void> {
    const { clientId } = connection;
    const { room, ref } = command;
    const problem = roomNameProblem(room);
    if (problem && command.kind === 'create-room') {
      return connection.emit({ kind: 'error', code: 'BAD_ROOM_NAME', detail: problem, ref });
    }
    const fail = (code: ErrorCode) => connection.emit({ kind: 'error', code, detail: room, ref });
    switch (command.kind) {
      case 'create-room': {
        if ((await this.#backend.createRoom(room, clientId)) === 'exists') return fail('ROOM_EXISTS');
        return connection.emit({ kind: 'room', ref, name: room, owner: clientId, members: [clientId], created: true });
      }
      case 'join-room': {
        const joined = await this.#backend.joinRoom(room, clientId);
        if (joined === 'not-found') return fail('ROOM_NOT_FOUND');
        return connection.emit({ kind: 'room', ref, name: room, owner: joined.owner, members: [...joined.members].sort(), created: false });
      }
      case 'leave-room': {
        const left = await this.#backend.leaveRoom(room, clientId);
        if (left === 'not-found') return fail('ROOM_NOT_FOUND');
        if (left === 'not-member') return fail('NOT_ROOM_MEMBER');
        return connection.emit({ kind: 'room-left', ref, room });
      }
      case 'delete-room': {
        const deleted = await this.#backend.deleteRoom(room, clientId);
        if (deleted === 'not-found') return fail('ROOM_NOT_FOUND');
        if (deleted === 'not-owner') {
          const owner = this.#backend.view.room(room)?.owner ?? 'its owner';
          return connection.emit({ kind: 'error', code: 'NOT_ROOM_OWNER', detail: `${room} belongs to ${owner}`, ref });
        }
        return connection.emit({ kind: 'room-deleted', reply: true, ref, room, by: clientId });
      }
    }
  }

  /**
   * Every recipient answers every message, so receipts are as many as
   * deliveries: the ones for one sender leave together, once per event-loop turn.
   */
  #receipt(connection: Connection, command: Extract<Command, { kind: 'receipt' }>): void {
    const receipt: Receipt = { by: connection.clientId, status: command.status, ids: command.ids };
    const batch = this.#outboundReceipts.get(command.from);
    if (batch) batch.push(receipt);
    else this.#outboundReceipts.set(command.from, [receipt]);
    this.#receiptRoute ??= setImmediate(() => this.#routeReceipts());
  }

  #routeReceipts(): void {
    this.#receiptRoute = null;
    for (const [to, receipts] of this.#outboundReceipts) {
      // A receipt for a sender who has gone is of no use to anyone: dropped, not an error.
      this.#backend.route({ target: { kind: 'client', clientId: to }, payload: { kind: 'receipts', to, receipts } }).catch(() => {});
    }
    this.#outboundReceipts.clear();
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
        this.#flush();
        const { envelope } = payload;
        const { target } = delivery;
        this.#fanout(target, { kind: 'message', envelope }, { origin: delivery.origin, key: envelope }, payload.json);
        if (target.kind === 'client' && envelope.to === target.clientId && envelope.from !== envelope.to) this.#deliveredLive(envelope);
        return;
      }
      case 'probe':
        return;
      case 'revoked':
        for (const listener of this.#revocationListeners) listener(payload.revocation);
        return;
      case 'replaced':
        for (const connection of [...(this.#clients.get(payload.clientId) ?? [])]) {
          connection.refuse('REPLACED');
          void this.#release(connection);
        }
        return;
      case 'typing':
        return this.#fanout(delivery.target, { kind: 'typing', typing: payload.typing }, { client: payload.typing.from });
      case 'receipts': {
        const { to } = payload;
        let pending: Set<string> | undefined;
        for (const receipt of payload.receipts) {
          for (const id of receipt.ids) {
            if (!this.#receipts.record(id, to, receipt.by, receipt.status)) continue;
            if (!pending) {
              pending = this.#receiptUpdates.get(to);
              if (!pending) this.#receiptUpdates.set(to, (pending = new Set()));
            }
            pending.add(id);
          }
        }
        if (pending) this.#scheduleFlush();
        return;
      }
    }
  }

  #onPresence(change: PresenceChange): void {
    if (!change.online) this.#takeovers.offline(change.clientId);
    // Text clients get a line per event, at once; JSON clients a batched frame.
    if (this.#textConnections.size > 0) {
      const frames = new FrameCache(change.online ? { kind: 'joined', clientId: change.clientId } : { kind: 'left', clientId: change.clientId });
      for (const connection of this.#textConnections) if (connection.clientId !== change.clientId) connection.emitCached(frames);
    }
    this.#presence.set(change.clientId, change.online);
    this.#schedulePresenceFlush();
  }

  /**
   * Presence reaches JSON clients at most every presenceInterval (100 ms, up to
   * 1 s on a node with 10,000 clients; at once when it has been quiet): a storm
   * of connects costs a few frames per client, not one per connect per client.
   */
  #schedulePresenceFlush(): void {
    if (this.#presenceTimer) return;
    const wait = Math.max(0, this.#lastPresenceFlush + presenceInterval(this.#clients.size) - this.#clock());
    this.#presenceTimer = setTimeout(() => this.#flushPresence(), wait);
  }

  #flushPresence(): void {
    if (this.#presenceTimer) clearTimeout(this.#presenceTimer);
    this.#presenceTimer = null;
    if (this.#presence.size === 0) return;
    this.#lastPresenceFlush = this.#clock();
    const joined: string[] = [];
    const left: string[] = [];
    for (const [clientId, online] of this.#presence) (online ? joined : left).push(clientId);
    this.#presence.clear();
    const serverAt = this.#lastPresenceFlush;
    // A client that joined in this batch learned the rest from its welcome: it gets the batch without itself.
    const joiners = new Set(joined.filter((id) => this.#clients.has(id)));
    this.#fanoutExcept({ kind: 'all' }, { kind: 'presence', joined, left, serverAt }, joiners);
    for (const joiner of joiners) {
      const others = joined.filter((id) => id !== joiner);
      if (others.length + left.length === 0) continue;
      for (const connection of this.#clients.get(joiner)!) connection.emit({ kind: 'presence', joined: others, left, serverAt });
    }
  }

  #onRoomChange(change: RoomChange): void {
    const { room } = change;
    this.#roomList.set(room, change.kind === 'deleted' ? null : summaryOf(this.#backend.view, room));
    if (change.kind === 'deleted') {
      this.#roomMembers.delete(room);
      const frames = new FrameCache({ kind: 'room-deleted', reply: false, room, by: change.by });
      for (const member of change.members) {
        if (member === change.by) continue;
        for (const connection of this.#clients.get(member) ?? []) connection.emitCached(frames);
      }
    } else if (change.kind === 'joined' || change.kind === 'left') {
      const joined = change.kind === 'joined';
      // The joiner learns the room from its answer; the others from this.
      this.#fanout({ kind: 'room', room }, { kind: 'room-member', room, clientId: change.clientId, joined }, { client: change.clientId });
      let pending = this.#roomMembers.get(room);
      if (!pending) this.#roomMembers.set(room, (pending = new Map()));
      pending.set(change.clientId, joined);
    }
    this.#scheduleFlush();
  }

  /**
   * Sends one event to the local connections a target names, rendered once per
   * protocol; skips the connection it came from (`origin`) or every connection
   * of one client (`client`). `key` names the stored message it carries.
   */
  #fanout(
    target: Target,
    event: OutEvent,
    skip: { origin?: string | undefined; client?: string; key?: MessageKey } = {},
    json?: OutFrame,
  ): void {
    const frames = new FrameCache(event, json);
    if (target.kind === 'client') {
      // The hot one (a private message, receipts, typing): no closure.
      const tabs = this.#clients.get(target.clientId);
      if (!tabs) return;
      for (const connection of tabs) {
        if (connection.id !== skip.origin && connection.clientId !== skip.client) connection.emitCached(frames, skip.key);
      }
      return;
    }
    const send = (connection: Connection) => {
      if (connection.id !== skip.origin && connection.clientId !== skip.client) connection.emitCached(frames, skip.key);
    };
    if (target.kind === 'all') {
      for (const connection of this.#connections) send(connection);
      return;
    }
    const members = this.#backend.view.room(target.room)?.members;
    if (!members) return;
    if (members.size < this.#clients.size) {
      for (const member of members) for (const connection of this.#clients.get(member) ?? []) send(connection);
    } else {
      for (const connection of this.#connections) if (members.has(connection.clientId)) send(connection);
    }
  }

  /** Like #fanout to everyone or to a room, skipping several clients (the ones that just joined). */
  #fanoutExcept(target: Target, event: OutEvent, except: ReadonlySet<string>): void {
    if (except.size === 0) return this.#fanout(target, event);
    const frames = new FrameCache(event);
    const members = target.kind === 'room' ? this.#backend.view.room(target.room)?.members : undefined;
    for (const connection of this.#connections) {
      if (except.has(connection.clientId)) continue;
      if (members && !members.has(connection.clientId)) continue;
      connection.emitCached(frames);
    }
  }

  #nextConnectionId(): string {
    return `${this.#node}:${(++this.#connectionCount).toString(36)}`;
  }

  #scheduleFlush(): void {
    this.#flushScheduled ??= setImmediate(() => this.#flush());
  }

  /** Sends every batched update now. */
  #flush(): void {
    if (this.#flushScheduled) {
      clearImmediate(this.#flushScheduled);
      this.#flushScheduled = null;
    }
    // Called before every message delivered: most of the time there is nothing to send.
    if (this.#roomList.size === 0 && this.#roomMembers.size === 0 && this.#receiptUpdates.size === 0) return;
    const serverAt = this.#clock();
    if (this.#roomList.size > 0) {
      const rooms: RoomSummary[] = [];
      const deleted: string[] = [];
      for (const [name, summary] of this.#roomList) summary ? rooms.push(summary) : deleted.push(name);
      this.#roomList.clear();
      this.#fanout({ kind: 'all' }, { kind: 'rooms', reply: false, rooms, deleted });
    }
    for (const [room, changes] of this.#roomMembers) {
      const joined: string[] = [];
      const left: string[] = [];
      for (const [clientId, isIn] of changes) (isIn ? joined : left).push(clientId);
      // A joiner learned the room from its answer: it gets the batch without itself.
      const joiners = new Set(joined.filter((id) => this.#clients.has(id)));
      this.#fanoutExcept({ kind: 'room', room }, { kind: 'room-members', room, joined, left, serverAt }, joiners);
      for (const joiner of joiners) {
        const others = joined.filter((id) => id !== joiner);
        if (others.length + left.length === 0) continue;
        for (const connection of this.#clients.get(joiner)!) connection.emit({ kind: 'room-members', room, joined: others, left, serverAt });
      }
    }
    this.#roomMembers.clear();
    if (this.#receiptUpdates.size > 0) this.#flushReceipts();
  }

  /**
   * Sends each sender the counts that changed, and stores them (whether the
   * sender is here or not), so that history and resume bring them back: one
   * merged write per turn, never one per receipt.
   */
  #flushReceipts(): void {
    const changed: StoredReceiptCounts[] = [];
    for (const [sender, ids] of this.#receiptUpdates) {
      const connections = this.#clients.get(sender);
      const updates: { id: string; delivered: number; read: number }[] = [];
      for (const id of ids) {
        const counts = this.#receipts.counts(id);
        if (!counts) continue;
        changed.push({ id, ...counts });
        if (connections) updates.push({ id, delivered: counts.delivered, read: counts.read });
      }
      if (updates.length === 0) continue;
      for (const connection of connections!) connection.emit({ kind: 'receipts', updates });
    }
    this.#receiptUpdates.clear();
    if (changed.length > 0) this.#messages.saveReceiptCounts(changed);
  }
}

/**
 * Whether a send whose (sender, id) is stored already is a retry of that
 * message: the same conversation and text. Anything else reuses the id for a
 * new message, which is refused (ID_REUSED) rather than silently dropped.
 */
function isRetryOf(stored: StoredMessage, conversation: string, text: string): boolean {
  return stored.conversation === conversation && stored.text === text;
}

/** The envelope of a stored message (what travels and what clients see). */
function envelopeOf(m: StoredMessage): Envelope {
  return {
    id: m.id,
    from: m.from,
    to: m.to,
    room: m.room,
    conversation: m.conversation,
    seq: m.seq,
    text: m.text,
    sentAt: m.sentAt,
    serverAt: m.serverAt,
  };
}

function byName(a: RoomSummary, b: RoomSummary): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function summaryOf(view: HubBackend['view'], room: string): RoomSummary | null {
  const state = view.room(room);
  return state ? { name: room, owner: state.owner, members: state.members.size } : null;
}
