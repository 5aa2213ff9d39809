/** Most missed messages one resume replays per conversation (the rest: page with history). */
export const RESUME_LIMIT = 1000;
/** History page size when the client does not say. */
export const DEFAULT_HISTORY_PAGE = 50;
/** How long a connection opened with resume waits for its resume frame before live traffic flows anyway. */
export const RESUME_WAIT_MS = 10_000;
/** Presence frames to JSON clients go out at most this often (batched). */
export const PRESENCE_INTERVAL_MS = 100;
