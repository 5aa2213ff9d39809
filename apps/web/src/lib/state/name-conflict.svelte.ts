import { CloseCode } from '@chorus/protocol';
import type { ConnectionStatus } from './connection.svelte.js';

/**
 * Why a tab cannot chat under its name: another connection has it (`taken`,
 * close 4409), or took it from this tab (`replaced`, close 4410). Neither
 * reconnects by itself: the person chooses.
 */
export type Conflict = 'taken' | 'replaced';

/**
 * A guest name is one connection at a time. When it is in use elsewhere, the
 * person may take it over ("use this tab instead"): the next attempts ask for
 * it (`?takeover=1`) until one is welcomed, and the other connection is
 * closed with 4410.
 */
export class NameConflict {
  /** Whether the next attempts take the name over. */
  takingOver = $state(false);

  /** The conflict a connection status means, if any. */
  of(status: ConnectionStatus): Conflict | null {
    if (status.kind !== 'offline') return null;
    if (status.code === CloseCode.CLIENT_ID_TAKEN) return 'taken';
    if (status.code === CloseCode.REPLACED) return 'replaced';
    return null;
  }

  /** The person chose to use this tab. */
  takeOver(): void {
    this.takingOver = true;
  }

  /** A connection was welcomed: the name is this tab's; later reconnects ask for nothing special. */
  welcomed(): void {
    this.takingOver = false;
  }
}
