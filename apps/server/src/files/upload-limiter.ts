/**
 * Uploads per minute per client id, in this process's memory (a cluster
 * counts per worker, as the sign-in limits do without Redis): a sliding
 * window of the last minute's upload times. Idle ids are forgotten.
 */
export class UploadLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #recent = new Map<string, number[]>();

  constructor(max: number, windowMs = 60_000) {
    this.#max = max;
    this.#windowMs = windowMs;
  }

  /** Counts an upload by `clientId` at `now`; returns 0 when allowed, else the ms until one is. */
  take(clientId: string, now: number): number {
    const times = (this.#recent.get(clientId) ?? []).filter((t) => t > now - this.#windowMs);
    if (times.length >= this.#max) {
      this.#recent.set(clientId, times);
      return times[0]! + this.#windowMs - now;
    }
    times.push(now);
    this.#recent.set(clientId, times);
    if (this.#recent.size > 10_000) this.#forgetIdle(now);
    return 0;
  }

  #forgetIdle(now: number): void {
    for (const [id, times] of this.#recent) if (times.every((t) => t <= now - this.#windowMs)) this.#recent.delete(id);
  }
}
