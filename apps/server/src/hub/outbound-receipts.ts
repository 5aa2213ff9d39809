import type { Broker } from './backend.js';
import type { Receipt } from './events.js';

/**
 * How long the receipts for one sender gather before they leave. One
 * event-loop turn was too short for a broadcast: its recipients' receipts
 * arrive over many turns, and each turn sent a delivery of its own (in
 * fanout on Redis, 15 publishes per broadcast). A tick of 20 ms is not seen.
 */
export const RECEIPT_WINDOW_MS = 20;

/**
 * Every recipient answers every message, so receipts are as many as
 * deliveries: the ones this node's clients send for one sender within
 * RECEIPT_WINDOW_MS leave together, in one delivery to that sender.
 */
export class OutboundReceipts {
  readonly #broker: Broker;
  readonly #bySender = new Map<string, Receipt[]>();
  #timer: NodeJS.Timeout | null = null;

  constructor(broker: Broker) {
    this.#broker = broker;
  }

  add(sender: string, receipt: Receipt): void {
    const batch = this.#bySender.get(sender);
    if (batch) batch.push(receipt);
    else this.#bySender.set(sender, [receipt]);
    this.#timer ??= setTimeout(() => this.#route(), RECEIPT_WINDOW_MS);
  }

  #route(): void {
    this.#timer = null;
    for (const [to, receipts] of this.#bySender) {
      // A receipt for a sender who has gone is of no use to anyone: dropped, not an error.
      this.#broker.route({ target: { kind: 'client', clientId: to }, payload: { kind: 'receipts', to, receipts } }).catch(() => {});
    }
    this.#bySender.clear();
  }
}
