/** How long a connection taking an id over waits for the old one to be released before it is refused. */
export const TAKEOVER_WAIT_MS = 5_000;

/**
 * Connections waiting for a client id to go offline anywhere in the service,
 * so that they can take it over (`?takeover=1`). The hub asks the node holding
 * the id to end its connection (a `replaced` delivery) and waits here for the
 * presence feed to say the id is free; then it asks for admission as usual.
 * Built on the two things every backend already promises (routing to a client
 * wherever it is, and one ordered presence feed), so a takeover needs nothing
 * new from a backend.
 */
export class OfflineWaiters {
  readonly #waiting = new Map<string, Set<(offline: boolean) => void>>();

  /**
   * Resolves true when `clientId` goes offline, false after `timeoutMs`.
   * Call before causing the release: the feed may report it synchronously.
   */
  wait(clientId: string, timeoutMs: number): { readonly offline: Promise<boolean>; cancel(): void } {
    let settle!: (offline: boolean) => void;
    const offline = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => settle(false), timeoutMs);
      timer.unref();
      settle = (value) => {
        clearTimeout(timer);
        this.#forget(clientId, settle);
        resolve(value);
      };
    });
    let set = this.#waiting.get(clientId);
    if (!set) this.#waiting.set(clientId, (set = new Set()));
    set.add(settle);
    return { offline, cancel: () => settle(false) };
  }

  /** The presence feed says `clientId` went offline. */
  offline(clientId: string): void {
    const set = this.#waiting.get(clientId);
    if (!set) return;
    for (const settle of [...set]) settle(true);
  }

  #forget(clientId: string, settle: (offline: boolean) => void): void {
    const set = this.#waiting.get(clientId);
    if (!set) return;
    set.delete(settle);
    if (set.size === 0) this.#waiting.delete(clientId);
  }
}
