import { CloseCode } from '@chorus/protocol';
import type { WebSocket } from 'ws';

/** What the guard needs of Accounts. */
export interface SessionChecks {
  onRevoked(listener: (revocation: { user: string; sessionId?: string; allExcept?: string | null }) => void): () => void;
  sessionLive(sessionId: string): Promise<boolean>;
}

interface Guarded {
  readonly user: string;
  readonly sessionId: string;
  readonly socket: WebSocket;
}

/**
 * Keeps signed-in connections honest: each closes with 4401 when its session
 * expires, when this process revokes it (logout, password change), and, for
 * revocations made by another process, at the next periodic check (one storage
 * lookup per live session per interval).
 */
export class SessionGuard {
  readonly #accounts: SessionChecks;
  readonly #bySession = new Map<string, Set<Guarded>>();
  readonly #timer: NodeJS.Timeout;
  readonly #unsubscribe: () => void;

  constructor(accounts: SessionChecks, checkEveryMs: number) {
    this.#accounts = accounts;
    this.#unsubscribe = accounts.onRevoked((revocation) => {
      for (const [sessionId, guarded] of this.#bySession) {
        for (const g of guarded) {
          const revoked =
            revocation.sessionId !== undefined
              ? g.sessionId === revocation.sessionId
              : g.user === revocation.user && sessionId !== revocation.allExcept;
          if (revoked) end(g.socket, 'signed out');
        }
      }
    });
    this.#timer = setInterval(() => void this.#check(), checkEveryMs);
    this.#timer.unref();
  }

  watch(socket: WebSocket, user: string, sessionId: string, expiresAt: number): void {
    const guarded: Guarded = { user, sessionId, socket };
    let set = this.#bySession.get(sessionId);
    if (!set) this.#bySession.set(sessionId, (set = new Set()));
    set.add(guarded);
    const expiry = setTimeout(() => end(socket, 'session expired'), Math.max(0, Math.min(expiresAt - Date.now(), 2 ** 31 - 1)));
    expiry.unref();
    socket.once('close', () => {
      clearTimeout(expiry);
      set.delete(guarded);
      if (set.size === 0) this.#bySession.delete(sessionId);
    });
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#unsubscribe();
  }

  async #check(): Promise<void> {
    for (const [sessionId, guarded] of [...this.#bySession]) {
      const live = await this.#accounts.sessionLive(sessionId).catch(() => true);
      if (!live) for (const g of guarded) end(g.socket, 'signed out');
    }
  }
}

function end(socket: WebSocket, reason: string): void {
  socket.close(CloseCode.AUTH_FAILED, reason);
}
