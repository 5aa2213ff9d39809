import type { ProtocolKind } from '../systems.js';

/** Where and how the clients of a generator connect. */
export interface Target {
  readonly kind: ProtocolKind;
  readonly host: string;
  /**
   * The system's nodes, one port each: the clients of one connect command are
   * dealt to them in turn (the k-th id to ports[k % ports.length]), so that
   * neighbours in a generator, which the direct scenario pairs, land on different nodes.
   */
  readonly ports: readonly number[];
  /** Chorus JSON clients answer messages with delivery receipts, as the browser does (false: to measure their cost). */
  readonly receipts: boolean;
}

/** One client as connected: `node` is the server process holding it, when its protocol says so. */
export interface ConnectedClient {
  readonly id: string;
  readonly node: string | null;
  /** The client's source port (to find its server process in /proc when the protocol does not say). */
  readonly localPort: number;
  readonly localAddress: string;
}

export interface ConnectResult {
  readonly clients: ConnectedClient[];
  readonly failed: number;
  /** Clients that connected only on a later attempt. */
  readonly retried: number;
  /** Ids not tried because the budget ran out. */
  readonly notAttempted: number;
  /** The first few failure reasons. */
  readonly errors: string[];
  /** process.hrtime in ms (one monotonic clock for every process of the machine). */
  readonly startedAt: number;
  readonly finishedAt: number;
}

/** Counters since the generator's previous mark. */
export interface MarkResult {
  /** Messages sent by this generator's clients. */
  readonly sent: number;
  /** Chat messages received by this generator's clients (deliveries). */
  readonly received: number;
  /** Error frames received, and the text of the first one. */
  readonly errors: number;
  readonly firstError: string | null;
  /** End-to-end latency of the received messages (direct only), as sparse histogram buckets. */
  readonly latency: [number, number][];
}

export interface JoinSpec {
  readonly id: string;
  readonly room: string;
  /** The first member creates the room (Chorus needs that; the baselines create on join). */
  readonly create: boolean;
}

/** A fanout sender: `index` is global (all generators), `group` is '' for everyone or a room name. */
export interface SenderSpec {
  readonly id: string;
  readonly index: number;
  readonly room: string | null;
}

/** Runner -> generator commands and what each one answers. */
export type Command =
  | {
      type: 'connect';
      target: Target;
      ids: string[];
      localAddresses: string[];
      concurrency: number;
      /** Per client: how long one connect may take. */
      timeoutMs: number;
      /** Per client: connects tried before it counts as failed (1: no retry). */
      attempts: number;
      /** No new connect starts after this many ms (the ids left are reported as not attempted). */
      budgetMs: number;
    }
  | { type: 'join'; joins: JoinSpec[]; timeoutMs: number }
  | {
      type: 'fanout';
      senders: SenderSpec[];
      /** For every global sender index, how many of this generator's clients receive its messages. */
      localReceivers: number[];
      window: number;
      textBytes: number;
    }
  | { type: 'direct'; pairs: [string, string][]; mode: 'rate' | 'closed'; rate: number; window: number; textBytes: number }
  /** Reconnect storm (load/storm.ts): connects pairs of resuming chorus.v1 clients (both ends in this generator). */
  | {
      type: 'storm-connect';
      target: Target;
      pairs: [string, string][];
      localAddresses: string[];
      concurrency: number;
      timeoutMs: number;
      budgetMs: number;
    }
  /**
   * Every storm client sends `perClient` private messages to its partner; answered once they are
   * written to the sockets, acked, or acked and delivered (`waitFor`), or at the timeout.
   */
  | { type: 'storm-send'; perClient: number; waitFor: 'written' | 'acked' | 'delivered'; textBytes: number; timeoutMs: number }
  /** From now on a storm client whose connection drops reconnects with backoff and resumes (for `budgetMs` at most). */
  | { type: 'storm-arm'; baseMs: number; capMs: number; timeoutMs: number; budgetMs: number }
  /** Answered once every storm client has its `resumed` frame, or at the timeout. */
  | { type: 'storm-wait'; timeoutMs: number }
  /** Whether every acknowledged message reached its recipient exactly once. */
  | { type: 'storm-check' }
  /** Starts sending (every generator is ready to count by then). */
  | { type: 'start' }
  | { type: 'mark' }
  | { type: 'stop'; drainMs: number }
  | { type: 'close' };

export interface Replies {
  connect: ConnectResult;
  join: { joined: number; failed: number; errors: string[] };
  fanout: null;
  direct: null;
  start: null;
  mark: MarkResult;
  stop: MarkResult;
  close: null;
  'storm-connect': { connected: number; failed: number; errors: string[] };
  'storm-send': { sent: number; acked: number; delivered: number; errors: number; firstError: string | null };
  'storm-arm': null;
  /** `resumedAt`: process.hrtime in ms (one monotonic clock for the machine), one per client that resumed. */
  'storm-wait': {
    clients: number;
    resumedAt: number[];
    attempts: number;
    failedAttempts: number;
    errors: number;
    firstError: string | null;
  };
  'storm-check': {
    /** Messages acknowledged to a sender, which its partner must hold. */
    expected: number;
    lost: number;
    duplicates: number;
    replayed: number;
    resentAboveCursor: number;
    /** Sends never acknowledged (in flight when the server went): not required to arrive. */
    unacked: number;
    examples: string[];
  };
}

/** Every message on the channel carries this tag; anything else is ignored. */
export const CHANNEL = 'chorus-bench';

export type ToGenerator =
  | ({ ch: typeof CHANNEL; rid: number } & Command)
  /** Fanout watermarks: the highest seq of sender `index` that every receiver (everywhere) has. */
  | { ch: typeof CHANNEL; type: 'watermarks'; marks: [number, number][] };

export type FromGenerator =
  | { ch: typeof CHANNEL; type: 'reply'; rid: number; ok: true; value: unknown }
  | { ch: typeof CHANNEL; type: 'reply'; rid: number; ok: false; error: string }
  /** Cumulative counts, for the progress line. */
  | { ch: typeof CHANNEL; type: 'progress'; connected: number; received: number }
  /** Local fanout watermarks: the highest seq of sender `index` that every local receiver has. */
  | { ch: typeof CHANNEL; type: 'watermarks'; marks: [number, number][] };

/** True for messages of this channel (a forked process may receive others). */
export function isBenchMessage<T extends { ch: string }>(message: unknown): message is T {
  return typeof message === 'object' && message !== null && (message as { ch?: unknown }).ch === CHANNEL;
}
