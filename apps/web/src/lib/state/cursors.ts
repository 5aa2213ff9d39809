/** The most cursors one resume frame may carry. */
export const MAX_RESUME_CURSORS = 1000;

/**
 * The resume cursors: per conversation, the highest seq N such that this
 * client holds every seq from where it started holding the conversation up to
 * N. Every seq counts, whoever sent it: messages received live, replayed or
 * paged in with history, and my own once their ack names their seq.
 *
 * A conversation first met mid-way (the lobby's first message here may be seq
 * 57) starts at that seq - 1: what came before is history, paged in on demand,
 * never replayed. A seq above a gap is remembered until the gap fills, so the
 * cursor never claims a message that is missing (the server replays it).
 */
export class Cursors {
  /** Conversation -> cursor; kept in order of last change (the most recent last). */
  readonly #at = new Map<string, number>();
  /** Seqs held above cursor + 1, per conversation (waiting for the gap below them to fill). */
  readonly #above = new Map<string, Set<number>>();

  constructor(saved: Readonly<Record<string, number>> = {}) {
    for (const [conversation, seq] of Object.entries(saved)) {
      if (Number.isSafeInteger(seq) && seq >= 0) this.#at.set(conversation, seq);
    }
  }

  /** Records that seq `seq` of `conversation` is held; returns whether the cursor moved. */
  hold(conversation: string, seq: number): boolean {
    // First met here: everything before it counts as history, not as missed.
    let cursor = this.#at.get(conversation) ?? seq - 1;
    if (seq <= cursor) return false;
    let above = this.#above.get(conversation);
    if (seq > cursor + 1) {
      if (!above) this.#above.set(conversation, (above = new Set()));
      above.add(seq);
      return false;
    }
    cursor = seq;
    while (above?.delete(cursor + 1)) cursor += 1;
    if (above?.size === 0) this.#above.delete(conversation);
    this.#at.delete(conversation); // re-inserted last: the most recently active
    this.#at.set(conversation, cursor);
    return true;
  }

  /** The cursor of `conversation`, or undefined for one never held. */
  get(conversation: string): number | undefined {
    return this.#at.get(conversation);
  }

  /** Forgets `conversation` (a room that is gone). */
  forget(conversation: string): void {
    this.#at.delete(conversation);
    this.#above.delete(conversation);
  }

  /** The cursors to send (and keep): at most `max`, those active most recently. */
  toRecord(max = MAX_RESUME_CURSORS): Record<string, number> {
    const entries = [...this.#at];
    return Object.fromEntries(entries.slice(Math.max(0, entries.length - max)));
  }
}
