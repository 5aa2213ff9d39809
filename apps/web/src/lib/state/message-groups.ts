import type { TimelineItem } from './chat-message.js';

/** How close in time two messages of one sender must be to show as one group. */
export const GROUP_WINDOW_MS = 5 * 60_000;

/**
 * The keys of the messages that continue a group: from the same sender as
 * the message just before them, with nothing in between (a note such as "bob
 * joined" starts a new group) and within {@link GROUP_WINDOW_MS} of it. Such a
 * message shows without the sender's name and avatar, which the first of the
 * group shows once. Times are the server's (`serverAt`).
 */
export function continuations(items: readonly TimelineItem[], windowMs: number = GROUP_WINDOW_MS): Set<string> {
  const continued = new Set<string>();
  let previous: TimelineItem | undefined;
  for (const item of items) {
    if (
      item.kind === 'message' &&
      previous?.kind === 'message' &&
      previous.from === item.from &&
      item.serverAt - previous.serverAt <= windowMs &&
      item.serverAt >= previous.serverAt
    ) {
      continued.add(item.key);
    }
    previous = item;
  }
  return continued;
}
