import { formatSince } from '../format-time.js';
import type { ConnectionStatus } from './connection.svelte.js';

/** What is true about a connection that is not up. */
export interface Offline {
  /** The first attempt is still under way (a page load): nothing has failed yet. */
  readonly firstAttempt: boolean;
  /** "Connecting…", or "Not connected since 14:03:27". */
  readonly text: string;
}

/**
 * What is true about the connection when it is not up, for the places that
 * would otherwise guess (who is online, whether a conversation is empty):
 * connecting, during a first attempt; not connected since when, once one has
 * failed or the connection was lost. Null while online.
 */
export function notConnected(status: ConnectionStatus, since: number | null, now: number = Date.now()): Offline | null {
  if (status.kind === 'online') return null;
  if (status.kind === 'connecting' && status.reason === null) return { firstAttempt: true, text: 'Connecting…' };
  return { firstAttempt: false, text: since === null ? 'Not connected' : `Not connected since ${formatSince(since, now)}` };
}
