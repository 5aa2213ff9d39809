import type { MessageFrame } from '@chorus/protocol';
import type { StoredMessage } from '../store/chat-store.js';
import type { ChatMessage } from './chat-message.js';
import type { ConversationId } from './conversation-id.js';

/** Messages per page, from the store or the server. */
export const HISTORY_PAGE = 50;

/** What the pager needs of the message log. */
export interface PagedLog {
  floor(conversation: ConversationId): number | null;
  shown(conversation: ConversationId): number;
  complete(conversation: ConversationId): boolean;
  loadingOlder(conversation: ConversationId): boolean;
  setLoadingOlder(conversation: ConversationId, loading: boolean): void;
  exhausted(conversation: ConversationId): void;
  addStored(messages: readonly StoredMessage[]): number;
  add(frame: MessageFrame): ChatMessage | null;
  addFiller(conversation: ConversationId, seq: number): void;
}

/** Where older messages come from. */
export interface HistorySource {
  /** At most `limit` messages the store holds with seq below `before`, newest first. */
  readStored(conversation: ConversationId, before: number, limit: number): Promise<StoredMessage[]>;
  /** Asks the server for a page before `before` (undefined: the newest); null when not connected or refused. */
  fetch(
    conversation: ConversationId,
    before: number | undefined,
    limit: number,
  ): Promise<{ messages: MessageFrame[]; more: boolean; actionSeqs?: number[] | undefined } | null>;
  /** Seq `seq` of `conversation` is held now (for the resume cursors). */
  held(conversation: string, seq: number): void;
}

/**
 * Pages a conversation back in time: the page below the oldest message shown
 * comes from the store when it holds it without a gap, else from the server.
 * One load per conversation at a time; none once the start is shown.
 */
export class HistoryPager {
  readonly #log: PagedLog;
  readonly #source: HistorySource;
  readonly #page: number;

  constructor(log: PagedLog, source: HistorySource, page = HISTORY_PAGE) {
    this.#log = log;
    this.#source = source;
    this.#page = page;
  }

  /** A conversation opened (or the connection came back): loads a page when fewer than a page is shown. */
  async recent(conversation: ConversationId): Promise<void> {
    if (this.#log.shown(conversation) >= this.#page) return;
    await this.older(conversation);
  }

  /** Loads the page before the oldest message shown (the user scrolled to the top). */
  async older(conversation: ConversationId): Promise<void> {
    const log = this.#log;
    if (log.loadingOlder(conversation) || log.complete(conversation)) return;
    log.setLoadingOlder(conversation, true);
    try {
      let floor = log.floor(conversation);
      let added = 0;
      if (floor !== null) {
        const stored = await this.#source.readStored(conversation, floor, this.#page);
        // Only what joins the shown run: a gap in the store is filled from the server.
        const run: StoredMessage[] = [];
        for (const message of stored) {
          if (message.seq !== floor - 1 - run.length) break;
          run.push(message);
        }
        added = log.addStored(run);
        for (const message of run) this.#source.held(conversation, message.seq);
        floor = log.floor(conversation);
      }
      if (added >= this.#page || log.complete(conversation)) return;
      await this.#fetch(conversation, floor ?? undefined);
    } finally {
      log.setLoadingOlder(conversation, false);
    }
  }

  /**
   * The resume could not replay everything missed in `conversation`: loads
   * its newest page; the gap below closes as the user pages back.
   */
  async latest(conversation: ConversationId): Promise<void> {
    await this.#fetch(conversation, undefined);
  }

  async #fetch(conversation: ConversationId, before: number | undefined): Promise<void> {
    const answer = await this.#source.fetch(conversation, before, this.#page);
    if (!answer) return;
    for (const message of answer.messages) {
      this.#log.add(message);
      this.#source.held(message.conversation, message.seq);
    }
    // The page's action seqs: held as fillers, so the seqs around them join up.
    for (const seq of answer.actionSeqs ?? []) {
      this.#log.addFiller(conversation, seq);
      this.#source.held(conversation, seq);
    }
    if (!answer.more) this.#log.exhausted(conversation);
  }
}
