import type { Broker } from './backend.js';
import type { Receipt } from './events.js';
import { PerTurn } from '../util/per-turn.js';

/**
 * Every recipient answers every message, so receipts are as many as
 * deliveries: the ones this node's clients send for one sender during one
 * event-loop turn leave together, in one delivery to that sender.
 */
export class OutboundReceipts {
  readonly #broker: Broker;
  readonly #bySender = new Map<string, Receipt[]>();
  readonly #routeTurn = new PerTurn(() => this.#route());

  constructor(broker: Broker) {
    this.#broker = broker;
  }

  add(sender: string, receipt: Receipt): void {
    const batch = this.#bySender.get(sender);
    if (batch) batch.push(receipt);
    else this.#bySender.set(sender, [receipt]);
    this.#routeTurn.schedule();
  }

  #route(): void {
    for (const [to, receipts] of this.#bySender) {
      // A receipt for a sender who has gone is of no use to anyone: dropped, not an error.
      this.#broker.route({ target: { kind: 'client', clientId: to }, payload: { kind: 'receipts', to, receipts } }).catch(() => {});
    }
    this.#bySender.clear();
  }
}
