import { MAX_RECEIPT_IDS, SUBPROTOCOL, type ClientFrame } from '@chorus/protocol';
import { io, type Socket } from 'socket.io-client';
import { WebSocket, type RawData } from 'ws';
import type { ProtocolKind } from '../systems.js';
import type { Target } from './ipc.js';

/**
 * One load-generator client, whatever the protocol. The generator only sends
 * texts and counts what arrives: `onMessage` fires once per chat message
 * delivered to this client (never for acks, echoes, presence or pongs).
 */
export interface BenchClient {
  readonly id: string;
  /** The server process holding this connection, when the protocol says (null: ask /proc). */
  readonly node: string | null;
  readonly localPort: number;
  /** Error frames received (e.g. unknown recipient). */
  readonly errors: number;
  onMessage: (from: string, text: string) => void;
  /** Called with the text of every error frame. */
  onError: (message: string) => void;
  /** Connects; resolves once the server has admitted the client. */
  open(timeoutMs: number): Promise<void>;
  /** Sends `text` to `to`, or to everyone when `to` is null. */
  send(to: string | null, text: string): void;
  /** Joins (or creates) a room; rejects with the reason when the system has no rooms. */
  join(room: string, create: boolean, timeoutMs: number): Promise<void>;
  /** Sends `text` to the other members of `room`. */
  sendRoom(room: string, text: string): void;
  /** Drops the connection at once. */
  close(): void;
}

/**
 * A client of `target` on the node listening on `port` (one of target.ports).
 * `localAddress`: the source address to bind to; undefined lets the kernel choose (127.0.0.1 on loopback).
 */
export function createClient(target: Target, port: number, id: string, localAddress: string | undefined): BenchClient {
  switch (target.kind) {
    case 'chorus-json':
      return new ChorusJsonClient(target, port, id, localAddress);
    case 'chorus-text':
      return new ChorusTextClient(target, port, id, localAddress);
    case 'ws-relay':
      return new WsRelayClient(target, port, id, localAddress);
    case 'socketio':
      return new SocketIoClient(target, port, id, localAddress);
  }
}

const noop = (): void => {};

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A client on a plain WebSocket (`ws`): Chorus (both protocols) and the ws relay. */
abstract class WsClient implements BenchClient {
  readonly id: string;
  node: string | null = null;
  localPort = 0;
  errors = 0;
  onMessage: (from: string, text: string) => void = noop;
  onError: (message: string) => void = noop;
  readonly #url: string;
  readonly #protocol: string | undefined;
  readonly #localAddress: string | undefined;
  protected socket: WebSocket | null = null;
  /** Settles open(): subclasses call it when the server has admitted the client. */
  protected admitted: (err?: Error) => void = noop;
  /** Answers to join(), by room. */
  protected readonly joins = new Map<string, (err?: Error) => void>();

  constructor(target: Target, port: number, id: string, localAddress: string | undefined, protocol?: string) {
    this.id = id;
    this.#url = `ws://${target.host}:${port}/ws/${encodeURIComponent(id)}`;
    this.#protocol = protocol;
    this.#localAddress = localAddress;
  }

  open(timeoutMs: number): Promise<void> {
    const socket = new WebSocket(this.#url, this.#protocol === undefined ? [] : [this.#protocol], {
      ...(this.#localAddress === undefined ? {} : { localAddress: this.#localAddress }),
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
    });
    this.socket = socket;
    const opened = new Promise<void>((resolve, reject) => {
      this.admitted = (err) => {
        this.admitted = noop;
        if (err) reject(err);
        else resolve();
      };
    });
    socket.on('upgrade', (res) => (this.localPort = res.socket.localPort ?? 0));
    socket.on('open', () => this.onOpen());
    socket.on('message', (data, isBinary) => {
      if (!isBinary) this.onFrame(data);
    });
    socket.on('error', (err) => this.admitted(err));
    socket.on('unexpected-response', (_req, res) => this.admitted(new Error(`HTTP ${res.statusCode}`)));
    socket.on('close', (code, reason) => {
      this.admitted(new Error(`closed ${code} ${reason.toString()}`));
      for (const settle of this.joins.values()) settle(new Error(`closed ${code}`));
      this.joins.clear();
    });
    return withTimeout(opened, timeoutMs, `${this.id} open`);
  }

  join(room: string, create: boolean, timeoutMs: number): Promise<void> {
    const answered = new Promise<void>((resolve, reject) => {
      this.joins.set(room, (err) => {
        this.joins.delete(room);
        if (err) reject(err);
        else resolve();
      });
    });
    this.sendJoin(room, create);
    return withTimeout(answered, timeoutMs, `${this.id} join ${room}`);
  }

  close(): void {
    this.socket?.terminate();
  }

  protected write(frame: string): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(frame);
  }

  protected abstract onOpen(): void;
  protected abstract onFrame(data: RawData): void;
  protected abstract sendJoin(room: string, create: boolean): void;
  abstract send(to: string | null, text: string): void;
  abstract sendRoom(room: string, text: string): void;
}

/** Byte 9 of a chorus.v1 frame is the first letter of its type: `{"type":"message"...`. */
const TYPE_AT = '{"type":"'.length;
const NODE_KEY = Buffer.from('"node":"');

/** How long the browser client gathers delivery receipts before sending them (its ReceiptOutbox). */
const RECEIPT_DELAY_MS = 100;

/**
 * The browser's protocol, chorus.v1, with what the browser client does on its
 * own: it answers every message with a delivery receipt, gathered for 100 ms
 * and sent as one `receipt` frame per sender (at most MAX_RECEIPT_IDS ids).
 * No read receipts (nobody looks at the bench's tabs). Only `message`,
 * `welcome`, `room` and `error` frames are parsed; acks, presence and receipt
 * counts are recognized by their first letters and dropped unparsed, so that
 * the generator spends its CPU on load.
 */
class ChorusJsonClient extends WsClient {
  #ref = 0;
  /** Delivery receipts waiting to be sent, by sender. */
  readonly #receipts = new Map<string, string[]>();
  #receiptTimer: NodeJS.Timeout | null = null;
  readonly #sendReceipts: boolean;

  constructor(target: Target, port: number, id: string, localAddress: string | undefined) {
    super(target, port, id, localAddress, SUBPROTOCOL);
    this.#sendReceipts = target.receipts;
  }

  protected onOpen(): void {
    // Admission comes with the welcome frame.
  }

  protected onFrame(data: RawData): void {
    const buf = data as Buffer;
    switch (buf[TYPE_AT]) {
      case 0x6d: {
        // m: message
        const frame = JSON.parse(buf.toString()) as { type: string; id: string; from: string; text: string };
        if (frame.type !== 'message') return;
        if (this.#sendReceipts && frame.from !== this.id) this.#queueReceipt(frame.from, frame.id);
        this.onMessage(frame.from, frame.text);
        return;
      }
      case 0x77: {
        // w: welcome. Its online list grows with the server; read the node without parsing it all.
        const at = buf.indexOf(NODE_KEY);
        if (at >= 0) this.node = buf.toString('utf8', at + NODE_KEY.length, buf.indexOf(0x22, at + NODE_KEY.length));
        this.admitted();
        return;
      }
      case 0x61: // a: ack
      case 0x70: // p: presence, pong
      case 0x74: // t: typing
        return;
      case 0x72: // r: receipts (counts for my messages), or room*, rooms
        if (buf[TYPE_AT + 1] === 0x65) return;
        break;
    }
    this.#other(JSON.parse(buf.toString()) as { type?: string; code?: string; message?: string; ref?: string; name?: string });
  }

  #queueReceipt(from: string, id: string): void {
    let ids = this.#receipts.get(from);
    if (!ids) this.#receipts.set(from, (ids = []));
    ids.push(id);
    this.#receiptTimer ??= setTimeout(() => this.#flushReceipts(), RECEIPT_DELAY_MS);
  }

  #flushReceipts(): void {
    this.#receiptTimer = null;
    for (const [from, ids] of this.#receipts) {
      for (let start = 0; start < ids.length; start += MAX_RECEIPT_IDS) {
        const frame = { type: 'receipt', status: 'delivered', from, ids: ids.slice(start, start + MAX_RECEIPT_IDS) } satisfies ClientFrame;
        this.write(JSON.stringify(frame));
      }
    }
    this.#receipts.clear();
  }

  override close(): void {
    if (this.#receiptTimer) clearTimeout(this.#receiptTimer);
    this.#receiptTimer = null;
    super.close();
  }

  #other(frame: { type?: string; code?: string; message?: string; ref?: string; name?: string }): void {
    if (frame.type === 'error') {
      this.errors++;
      const err = new Error(`${frame.code}: ${frame.message}`);
      this.onError(err.message);
      this.admitted(err);
      const room = frame.ref?.startsWith('join:') ? frame.ref.slice(5) : undefined;
      if (room !== undefined) this.joins.get(room)?.(err);
    } else if (frame.type === 'room' && frame.name !== undefined) {
      this.joins.get(frame.name)?.();
    }
  }

  send(to: string | null, text: string): void {
    this.write(JSON.stringify({ type: 'send', id: String(++this.#ref), to, text, sentAt: Date.now() } satisfies ClientFrame));
  }

  sendRoom(room: string, text: string): void {
    this.write(JSON.stringify({ type: 'send', id: String(++this.#ref), room, text, sentAt: Date.now() } satisfies ClientFrame));
  }

  protected sendJoin(room: string, create: boolean): void {
    this.write(JSON.stringify({ type: create ? 'create-room' : 'join-room', id: `join:${room}`, room } satisfies ClientFrame));
  }
}

const PRIVATE = ' send a private message: ';
const BROADCAST = 'Client #';
const SAYS = ' says: ';

/** The original text protocol: `message,target` in, sentences out. No welcome: admitted once open. */
class ChorusTextClient extends WsClient {
  protected onOpen(): void {
    this.admitted();
  }

  protected onFrame(data: RawData): void {
    const frame = data.toString();
    if (frame.startsWith('You wrote: ')) return;
    const at = frame.indexOf(PRIVATE);
    if (at > 0) return this.onMessage(frame.slice(0, at), frame.slice(at + PRIVATE.length));
    if (frame.startsWith(BROADCAST)) {
      const says = frame.indexOf(SAYS);
      if (says > 0) return this.onMessage(frame.slice(BROADCAST.length, says), frame.slice(says + SAYS.length));
      return; // "Client #x left the chat"
    }
    this.errors++;
    this.onError(frame);
  }

  send(to: string | null, text: string): void {
    this.write(`${text},${to ?? ''}`);
  }

  sendRoom(): void {
    throw new Error('the bench does not send room messages over the text protocol');
  }

  protected sendJoin(room: string): void {
    this.joins.get(room)?.(new Error('the bench does not join rooms over the text protocol'));
  }
}

/** The baseline relay's protocol: {to,text} / {join} / {room,text} in, {from,text} out. */
class WsRelayClient extends WsClient {
  protected onOpen(): void {
    this.admitted();
  }

  protected onFrame(data: RawData): void {
    const frame = JSON.parse(data.toString()) as { from?: string; text?: string; joined?: string };
    if (frame.joined !== undefined) this.joins.get(frame.joined)?.();
    else this.onMessage(frame.from ?? '', frame.text ?? '');
  }

  send(to: string | null, text: string): void {
    this.write(JSON.stringify({ to, text }));
  }

  sendRoom(room: string, text: string): void {
    this.write(JSON.stringify({ room, text }));
  }

  protected sendJoin(room: string): void {
    this.write(JSON.stringify({ join: room }));
  }
}

/** socket.io-client over the websocket transport only (no polling upgrade). */
class SocketIoClient implements BenchClient {
  readonly id: string;
  node: string | null = null;
  localPort = 0;
  errors = 0;
  onMessage: (from: string, text: string) => void = noop;
  onError: (message: string) => void = noop;
  readonly #url: string;
  readonly #localAddress: string | undefined;
  #socket: Socket | null = null;

  constructor(target: Target, port: number, id: string, localAddress: string | undefined) {
    this.id = id;
    this.#url = `http://${target.host}:${port}`;
    this.#localAddress = localAddress;
  }

  open(timeoutMs: number): Promise<void> {
    // engine.io-client hands localAddress to `ws` in Node (its types leave it out).
    const options = {
      transports: ['websocket'],
      auth: { id: this.id },
      forceNew: true,
      reconnection: false,
      timeout: timeoutMs,
      ...(this.#localAddress === undefined ? {} : { localAddress: this.#localAddress }),
    };
    const socket = io(this.#url, options);
    this.#socket = socket;
    socket.on('message', (msg: { from: string; text: string }) => this.onMessage(msg.from, msg.text));
    const welcomed = new Promise<void>((resolve, reject) => {
      socket.once('welcome', (msg: { node: string }) => {
        this.node = msg.node;
        resolve();
      });
      socket.once('connect_error', reject);
      socket.once('disconnect', (reason) => reject(new Error(`disconnected: ${reason}`)));
    });
    return withTimeout(welcomed, timeoutMs, `${this.id} open`);
  }

  send(to: string | null, text: string): void {
    this.#socket?.emit('send', { to, text });
  }

  join(room: string, _create: boolean, timeoutMs: number): Promise<void> {
    const socket = this.#socket;
    if (!socket) return Promise.reject(new Error('not connected'));
    return withTimeout(new Promise<void>((resolve) => socket.emit('join', room, () => resolve())), timeoutMs, `${this.id} join ${room}`);
  }

  sendRoom(room: string, text: string): void {
    this.#socket?.emit('room', { room, text });
  }

  close(): void {
    this.#socket?.disconnect();
  }
}

/** Which protocols can carry rooms in the bench (the text protocol's slash commands are not driven). */
export function protocolHasRooms(kind: ProtocolKind): boolean {
  return kind !== 'chorus-text';
}
