import { CloseCode } from '@chorus/protocol';
import type { WebSocket } from 'ws';

import type { Revocation } from '../hub/events.js';

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
  readonly expiry: NodeJS.Timeout;
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
  readonly #bySocket = new Map<WebSocket, Guarded>();
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

  /** Guards a signed-in socket until `forget` (the owner calls it from its own 'close' listener: no closure per socket here). */
  watch(socket: WebSocket, user: string, sessionId: string, expiresAt: number): void {
    const expiry = setTimeout(end, Math.max(0, Math.min(expiresAt - Date.now(), 2 ** 31 - 1)), socket, 'session expired');
    expiry.unref();
    const guarded: Guarded = { user, sessionId, socket, expiry };
    let set = this.#bySession.get(sessionId);
    if (!set) this.#bySession.set(sessionId, (set = new Set()));
    set.add(guarded);
    this.#bySocket.set(socket, guarded);
  }

  /** The socket closed; nothing happens if it was never guarded (a guest). */
  forget(socket: WebSocket): void {
    const guarded = this.#bySocket.get(socket);
    if (!guarded) return;
    this.#bySocket.delete(socket);
    clearTimeout(guarded.expiry);
    const set = this.#bySession.get(guarded.sessionId);
    set?.delete(guarded);
    if (set?.size === 0) this.#bySession.delete(guarded.sessionId);
  }

  #revoke(revocation: Revocation): void {
    for (const [sessionId, guarded] of this.#bySession) {
      for (const g of guarded) {
        if (g.user !== revocation.user) continue;
        const revoked = 'sessionId' in revocation ? g.sessionId === revocation.sessionId : sessionId !== revocation.allExcept;
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
