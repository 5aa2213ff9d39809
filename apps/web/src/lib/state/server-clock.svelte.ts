/**
 * An estimate of the server's clock, so that every browser shows the same
 * time for a message whatever its own clock says.
 *
 * offset = serverAt - (midpoint of the ping's round trip); the sample with the
 * shortest round trip since the last welcome wins, because its midpoint is the
 * tightest bound on when the server read its clock.
 */
export class ServerClock {
  /** Server time minus local time, in ms. */
  offset = $state(0);
  /** Round trip of the sample behind `offset`, in ms; null until a pong arrived. */
  rtt = $state<number | null>(null);

  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A first, rough estimate from the welcome frame (one-way delay unknown). */
  fromWelcome(serverAt: number, receivedAt = this.#now()): void {
    this.offset = serverAt - receivedAt;
    this.rtt = null;
  }

  /** Refines the estimate with a pong: `sentAt` is the ping's, echoed by the server. */
  fromPong(sentAt: number, serverAt: number, receivedAt = this.#now()): void {
    const rtt = receivedAt - sentAt;
    if (rtt < 0) return;
    if (this.rtt !== null && rtt > this.rtt) return;
    this.offset = serverAt - (sentAt + receivedAt) / 2;
    this.rtt = rtt;
  }

  /** The estimated server time now, in epoch ms. */
  now(): number {
    return this.#now() + this.offset;
  }
}
