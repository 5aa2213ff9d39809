import { parseConversation } from '@chorus/protocol';
import type { StateView } from './backend.js';
import type { Connection } from './connection.js';
import type { Command, ConversationRef, Envelope } from './events.js';
import { conversationOf, entryEvents } from './log-entries.js';
import { RESUME_LIMIT } from './limits.js';
import type { MessageLog, StoredMessage } from './message-log.js';
import type { HubMetrics } from './metrics.js';
import { ownReceipts } from './own-receipts.js';
import type { ReceiptBook } from './receipt-book.js';

/** Who may read what, and the two ways a client reads stored messages: a history page, and a resume replay. */
export class ConversationReads {
  readonly #messages: MessageLog;
  readonly #receipts: ReceiptBook;
  readonly #view: () => StateView;
  readonly #onError: (err: unknown, clientId: string) => void;
  readonly #metrics: HubMetrics;

  constructor(options: {
    messages: MessageLog;
    receipts: ReceiptBook;
    view: () => StateView;
    metrics: HubMetrics;
    onError: (err: unknown, clientId: string) => void;
  }) {
    this.#messages = options.messages;
    this.#receipts = options.receipts;
    this.#view = options.view;
    this.#onError = options.onError;
    this.#metrics = options.metrics;
  }

  /** Whether `clientId` may read `conversation`. */
  mayRead(clientId: string, conversation: string): boolean {
    const parsed = parseConversation(conversation);
    if (!parsed) return false;
    if (parsed.kind === 'lobby') return true;
    if (parsed.kind === 'room') return this.#view().room(parsed.room)?.members.has(clientId) ?? false;
    return parsed.a === clientId || parsed.b === clientId;
  }

  async history(connection: Connection, command: Extract<Command, { kind: 'history' }>): Promise<void> {
    const { conversation, ref, before } = command;
    if (!this.mayRead(connection.clientId, conversation)) {
      return connection.emit({ kind: 'error', code: 'NOT_IN_CONVERSATION', detail: conversation, ref });
    }
    // Read before the page: anything newer than it that the page then holds is a message, never taken for an action.
    const end = await this.#messages.lastSeq(conversation);
    const last = before === undefined ? end : Math.min(end, before - 1);
    const page = await this.#messages.history(conversation, command.limit + 1, before);
    const more = page.length > command.limit;
    const messages = page.slice(0, command.limit);
    const receipts = await ownReceipts(connection.clientId, messages, this.#receipts, this.#messages);
    const envelopes = await this.#envelopes(messages, true);
    const actionSeqs = actionSeqsOf(messages, more, last);
    connection.emit({ kind: 'history', ref, conversation, messages: envelopes, more, receipts, actionSeqs });
  }

  /** Messages as envelopes with the message each answers and (`withReactions`) their reactions. */
  async #envelopes(messages: readonly StoredMessage[], withReactions: boolean): Promise<Envelope[]> {
    const events = await entryEvents(this.#messages, messages, { withReactions });
    return events.flatMap((e) => (e.kind === 'message' ? [e.envelope] : []));
  }

  /** How many messages `/recent` lists. */
  static readonly RECENT = 10;

  /** A text client's `/recent`: the conversation's last messages, oldest first, with their state. */
  async recent(connection: Connection, ref: ConversationRef): Promise<void> {
    const conversation = conversationOf(connection.clientId, ref);
    if (!this.mayRead(connection.clientId, conversation)) {
      return connection.emit({ kind: 'error', code: 'NOT_IN_CONVERSATION', detail: conversation });
    }
    const page = await this.#messages.history(conversation, ConversationReads.RECENT);
    const messages = await this.#envelopes(page.reverse(), true);
    connection.emit({ kind: 'recent', conversation, viewer: connection.clientId, messages });
  }

  /**
   * Replays what the client missed since its cursors, in order per
   * conversation, then releases the live traffic held meanwhile (without what
   * the replay already carried). Private conversations the client has no cursor
   * for are replayed from the start: that is how offline messages arrive.
   */
  async resume(connection: Connection, cursors: Readonly<Record<string, number>>): Promise<void> {
    const clientId = connection.clientId;
    const conversations = new Map<string, number>();
    for (const [conversation, seq] of Object.entries(cursors)) {
      if (this.mayRead(clientId, conversation)) conversations.set(conversation, seq);
    }
    const replayed = new Map<string, number>();
    const truncated: string[] = [];
    let count = 0;
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
        // Actions are entries of the log like messages: replayed in their place.
        for (const event of await entryEvents(this.#messages, replay, { receipts })) {
          connection.emit(event);
          count++;
        }
        if (replay.length > 0) last = replay[replay.length - 1]!.seq;
        replayed.set(conversation, last);
      }
    } catch (err) {
      this.#onError(err, clientId);
      connection.emit({ kind: 'error', code: 'STORAGE_FAILED', detail: 'resume failed; reconnect to try again' });
    }
    this.#metrics.resumed(count);
    connection.emit({ kind: 'resumed', conversations: Object.fromEntries(replayed), truncated });
    connection.release(replayed);
  }
}

/**
 * The seqs of a history page's range that are not its messages: actions. The
 * range runs from the page's oldest message (from 1 when nothing is older) to
 * `last`; a page of messages only leaves out exactly those.
 */
function actionSeqsOf(messages: readonly StoredMessage[], more: boolean, last: number): number[] | undefined {
  const from = more ? (messages.at(-1)?.seq ?? 1) : 1;
  const held = new Set(messages.map((m) => m.seq));
  const out: number[] = [];
  for (let seq = from; seq <= last; seq++) if (!held.has(seq)) out.push(seq);
  return out.length > 0 ? out : undefined;
}
