import { ServerFrame } from '@chorus/protocol';
import { WebSocket, type ClientOptions } from 'ws';

type Predicate<T> = (item: T) => boolean;

/**
 * A real WebSocket client for tests. Every frame it receives is kept in order;
 * `next` waits for the next unread frame (optionally the next one that matches),
 * driven by events, with a timeout so a missing frame fails instead of hanging.
 */
export class TestClient {
  readonly socket: WebSocket;
  /** Every text frame received, in order. */
  readonly frames: string[] = [];
  #read = 0;
  #waiters: (() => void)[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, protocols?: string | string[], options?: ClientOptions) {
    this.socket = new WebSocket(url, protocols ?? [], options);
    this.socket.on('message', (data, isBinary) => {
      this.frames.push(isBinary ? `<binary ${(data as Buffer).length}>` : data.toString());
      this.#wake();
    });
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
      this.socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    this.closed = new Promise((resolve) =>
      this.socket.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.#wake();
      }),
    );
    // Tests assert on `closed`; an error event before it must not crash the runner.
    this.socket.on('error', () => {});
  }

  /** Waits for the next unread frame; with `match`, skips (and consumes) frames until one matches. */
  async next(match?: Predicate<string>, timeoutMs = 5_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.#read < this.frames.length) {
        const frame = this.frames[this.#read++]!;
        if (!match || match(frame)) return frame;
      }
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error(`closed while waiting; got: ${JSON.stringify(this.unread())}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms; frames: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /**
   * Waits for a frame that matches and removes just that one, leaving the
   * frames around it unread (for replies to a probe the test did not ask for).
   */
  async extract(match: Predicate<string>, timeoutMs = 5_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex((frame, i) => i >= this.#read && match(frame));
      if (index !== -1) return this.frames.splice(index, 1)[0]!;
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error(`closed while waiting; got: ${JSON.stringify(this.unread())}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms; frames: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The next `count` frames, in order. */
  async take(count: number, timeoutMs = 5_000): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(await this.next(undefined, timeoutMs));
    return out;
  }

  /** The next frame as a parsed, validated server frame of the JSON protocol. */
  async nextJson(match?: Predicate<ServerFrame>, timeoutMs = 5_000): Promise<ServerFrame> {
    const frame = await this.next((raw) => !match || match(ServerFrame.parse(JSON.parse(raw))), timeoutMs);
    return ServerFrame.parse(JSON.parse(frame));
  }

  /** Frames received but not yet read by next(). */
  unread(): string[] {
    return this.frames.slice(this.#read);
  }

  send(frame: string | object): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.close();
    return this.closed;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/**
 * Connects a text-protocol client and waits until it is admitted: the text
 * protocol has no welcome, so it asks `/time` (answered only after admission)
 * and removes that one answer, leaving every other frame for the test.
 */
export async function textClient(base: string, id: string): Promise<TestClient> {
  const client = new TestClient(`${base}/ws/${encodeURIComponent(id)}`);
  await client.opened;
  client.send('/time');
  await client.extract((frame) => frame.startsWith('Server time: '));
  return client;
}

/** Connects a chorus.v1 client (with `resume`: `?resume=1`, live traffic waits for its resume frame) and waits for its welcome. */
export async function jsonClient(base: string, id: string, options: { resume?: boolean } = {}): Promise<TestClient> {
  const query = options.resume ? '?resume=1' : '';
  const client = new TestClient(`${base}/ws/${encodeURIComponent(id)}${query}`, 'chorus.v1');
  await client.opened;
  await client.nextJson((f) => f.type === 'welcome');
  return client;
}
