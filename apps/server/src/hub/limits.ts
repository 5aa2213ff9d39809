/** Most missed messages one resume replays per conversation (the rest: page with history). */
export const RESUME_LIMIT = 1000;
/** History page size when the client does not say. */
export const DEFAULT_HISTORY_PAGE = 50;
/** How long a connection opened with resume waits for its resume frame before live traffic flows anyway. */
export const RESUME_WAIT_MS = 10_000;
/** Presence frames to JSON clients go out at most this often (batched). */
export const PRESENCE_INTERVAL_MS = 100;
/** The presence interval's ceiling, reached with PRESENCE_CLIENTS_PER_MS x 1000 clients on a node. */
export const PRESENCE_INTERVAL_MAX_MS = 1_000;
/** Past 1,000 clients on a node, the presence interval grows by 1 ms per this many clients. */
export const PRESENCE_CLIENTS_PER_MS = 10;

/**
 * How long presence batches to JSON clients wait on a node with `clients`
 * connected: every batch goes to every client, so a connect storm costs
 * clients x batches frames; a busier node sends fewer, larger batches
 * (10,000 clients: one a second) and a small one stays at 100 ms.
 */
export function presenceInterval(clients: number): number {
  return Math.min(PRESENCE_INTERVAL_MAX_MS, Math.max(PRESENCE_INTERVAL_MS, Math.floor(clients / PRESENCE_CLIENTS_PER_MS)));
}
