import { CLIENT_ID_PATTERN, type ErrorCode } from '@chorus/protocol';
import type { HubBackend } from './backend.js';
import type { Codec } from './codec.js';
import { Connection, type FrameHandler } from './connection.js';
import type { Command, Envelope, OutEvent, PresenceChange } from './events.js';
import { FrameCache } from './frame-cache.js';
import type { Session } from './session.js';

/** The few log calls the hub makes (pino's signature; the hub does not import pino). */
export interface HubLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface HubOptions {
  readonly backend: HubBackend;
  /** This node's name: unique in the service for as long as it runs; prefixes message ids. */
  readonly node: string;
  readonly log: HubLogger;
  /** The server's clock, in ms since the epoch (injected in tests). */
  readonly clock?: () => number;
}

/**
 * The chat core of one node: admission, routing and presence for the sessions
 * connected here. It knows neither the transport (sessions) nor where the
 * shared state lives (the backend).
 */
export class Hub implements FrameHandler {
  readonly #backend: HubBackend;
  readonly #node: string;
  readonly #log: HubLogger;
  readonly #clock: () => number;
  /** Admitted connections of this node, by client id. */
  readonly #clients = new Map<string, Connection>();
  /** Presence changes not yet sent to JSON sessions (they get them batched); id -> online. */
  readonly #pendingPresence = new Map<string, boolean>();
  #presenceFlush: NodeJS.Immediate | null = null;
  #messageCount = 0;

  constructor(options: HubOptions) {
    this.#backend = options.backend;
    this.#node = options.node;
    this.#log = options.log;
    this.#clock = options.clock ?? Date.now;
  }

  start(): Promise<void> {
    return this.#backend.start({
      deliver: (envelope) => this.#deliver(envelope),
      presence: (change) => this.#presence(change),
    });
  }

  /** The number of admitted connections on this node. */
  get size(): number {
    return this.#clients.size;
  }

  /** A transport accepted a connection: admit it (asynchronously) and return its handle. */
  open(session: Session, codec: Codec): Connection {
    const connection = new Connection(session, codec, this);
    void this.#admit(connection);
    return connection;
  }

  /** Refuses a session before admission (e.g. a bad client id): tells it why, in its protocol, and closes. */
  refuse(session: Session, codec: Codec, code: ErrorCode, detail?: string): void {
    new Connection(session, codec, this).refuse(code, detail);
  }

  /** Closes every connection with `code` (e.g. going away on shutdown) and releases them. */
  async closeAll(code: number, reason: string): Promise<void> {
    const releases: Promise<void>[] = [];
    for (const connection of [...this.#clients.values()]) {
      connection.session.close(code, reason);
      releases.push(this.#release(connection));
    }
    await Promise.all(releases);
  }

  handleFrame(connection: Connection, frame: string): Promise<void> | void {
    return this.#handle(connection, connection.codec.decode(frame, this.#clock()));
  }

  handleClosed(connection: Connection): void {
    if (connection.state === 'open') void this.#release(connection);
  }

  async #admit(connection: Connection): Promise<void> {
    const { clientId } = connection;
    let admission;
    try {
      admission = await this.#backend.admit(clientId);
    } catch (err) {
      this.#log.error({ err, clientId }, 'admission failed');
      if (connection.state !== 'closed') connection.refuse('INTERNAL');
      return;
    }
    if (connection.state === 'closed') {
      // The client hung up while we asked: give the permit straight back.
      if (admission === 'admitted') await this.#backend.release(clientId).catch(() => {});
      return;
    }
    if (admission !== 'admitted') {
      this.#log.info({ clientId, protocol: connection.codec.name, reason: admission }, 'refused');
      connection.refuse(admission === 'full' ? 'SERVER_FULL' : 'CLIENT_ID_TAKEN');
      return;
    }
    // Presence from before this client joined (its own join included) goes to the others only.
    if (this.#pendingPresence.size > 0) this.#flushPresence();
    this.#clients.set(clientId, connection);
    const online = await this.#backend.online();
    connection.emit({ kind: 'welcome', clientId, online, serverAt: this.#clock() });
    this.#log.info({ clientId, protocol: connection.codec.name }, 'connected');
    connection.opened();
  }

  async #release(connection: Connection): Promise<void> {
    const { clientId } = connection;
    if (this.#clients.get(clientId) !== connection) return;
    this.#clients.delete(clientId);
    connection.state = 'closed';
    this.#log.info({ clientId }, 'disconnected');
    try {
      await this.#backend.release(clientId);
    } catch (err) {
      this.#log.error({ err, clientId }, 'release failed');
    }
  }

  #handle(connection: Connection, command: Command): Promise<void> | void {
    switch (command.kind) {
      case 'send':
        return this.#send(connection, command);
      case 'ping':
        connection.emit({ kind: 'pong', ref: command.ref, sentAt: command.sentAt, serverAt: this.#clock() });
        return;
      case 'invalid':
        connection.emit({ kind: 'error', code: command.code, detail: command.detail, ref: command.ref });
        return;
    }
  }

  async #send(connection: Connection, command: Extract<Command, { kind: 'send' }>): Promise<void> {
    const envelope: Envelope = {
      id: `${this.#node}.${(++this.#messageCount).toString(36)}`,
      from: connection.clientId,
      to: command.to,
      text: command.text,
      sentAt: command.sentAt,
      serverAt: this.#clock(),
    };
    const ack: OutEvent = { kind: 'ack', ref: command.ref ?? envelope.id, id: envelope.id, serverAt: envelope.serverAt };
    connection.emit({ kind: 'echo', text: command.text });
    if (envelope.to === connection.clientId) {
      // A note to yourself needs no routing: acknowledge it, then deliver it, like the text echo.
      connection.emit(ack);
      connection.emit({ kind: 'message', envelope });
      return;
    }
    let routed = true;
    if (envelope.to === null) await this.#backend.broadcast(envelope);
    else routed = CLIENT_ID_PATTERN.test(envelope.to) && (await this.#backend.sendTo(envelope));
    if (routed) connection.emit(ack);
    else connection.emit({ kind: 'unknown-recipient', target: envelope.to!, ref: command.ref });
  }

  #deliver(envelope: Envelope): void {
    // Presence that happened before this message reaches JSON sessions before it.
    if (this.#pendingPresence.size > 0) this.#flushPresence();
    const frames = new FrameCache({ kind: 'message', envelope });
    if (envelope.to !== null) {
      this.#clients.get(envelope.to)?.emitCached(frames);
      return;
    }
    for (const connection of this.#clients.values()) {
      if (connection.clientId !== envelope.from) connection.emitCached(frames);
    }
  }

  #presence(change: PresenceChange): void {
    if (!change.online) this.#fanout({ kind: 'left', clientId: change.clientId }, change.clientId);
    this.#pendingPresence.set(change.clientId, change.online);
    this.#presenceFlush ??= setImmediate(() => this.#flushPresence());
  }

  #flushPresence(): void {
    if (this.#presenceFlush) clearImmediate(this.#presenceFlush);
    this.#presenceFlush = null;
    const joined: string[] = [];
    const left: string[] = [];
    for (const [clientId, online] of this.#pendingPresence) (online ? joined : left).push(clientId);
    this.#pendingPresence.clear();
    this.#fanout({ kind: 'presence', joined, left, serverAt: this.#clock() });
  }

  /** Sends one event to every open connection here except `except`, rendered once per protocol. */
  #fanout(event: OutEvent, except?: string): void {
    const frames = new FrameCache(event);
    for (const connection of this.#clients.values()) {
      if (connection.clientId !== except) connection.emitCached(frames);
    }
  }
}
