import { CloseCode } from '@chorus/protocol';
import type { WebSocket } from 'ws';

type Revocation = { user: string; sessionId?: string; allExcept?: string | null };

/** What the guard needs of Accounts. */
export interface SessionChecks {
  onRevoked(listener: (revocation: Revocation) => void): () => void;
  sessionLive(sessionId: string): Promise<boolean>;
}

/** How revocations reach the other nodes, and how theirs reach this one (the hub's routing). */
export interface RevocationRelay {
  revokeEverywhere(revocation: Revocation): Promise<void>;
  onRevocation(listener: (revocation: Revocation) => void): void;
}

interface Guarded {
  readonly user: string;
  readonly sessionId: string;
  readonly socket: WebSocket;
}

/**
 * Keeps signed-in connections honest: each closes with 4401 when its session
 * expires or is revoked (logout, password change). A revocation made here is
 * relayed to every node holding the user's connections, so their tabs close at
 * once too; a periodic check (one storage lookup per live session per interval)
 * catches anything a relay missed (e.g. a node that was restarting).
 */
export class SessionGuard {
  readonly #accounts: SessionChecks;
  readonly #bySession = new Map<string, Set<Guarded>>();
  readonly #timer: NodeJS.Timeout;
  readonly #unsubscribe: () => void;

  constructor(accounts: SessionChecks, relay: RevocationRelay, checkEveryMs: number) {
    this.#accounts = accounts;
    relay.onRevocation((revocation) => this.#revoke(revocation));
    this.#unsubscribe = accounts.onRevoked((revocation) => {
      this.#revoke(revocation);
      void relay.revokeEverywhere(revocation).catch(() => {});
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

  #revoke(revocation: Revocation): void {
    for (const [sessionId, guarded] of this.#bySession) {
      for (const g of guarded) {
        if (g.user !== revocation.user) continue;
        const revoked = revocation.sessionId !== undefined ? g.sessionId === revocation.sessionId : sessionId !== revocation.allExcept;
        if (revoked) end(g.socket, 'signed out');
      }
    }
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
