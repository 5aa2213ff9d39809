const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** A wall-clock time such as `14:03:27` for an epoch time in ms. */
export function formatClock(epochMs: number): string {
  return clock.format(epochMs);
}

/** Date and time, for tooltips and `<time datetime>`. */
export function formatFull(epochMs: number): string {
  return full.format(epochMs);
}

/** A moment for "since …": the time of day when it was today, else the date and time. */
export function formatSince(epochMs: number, now: number = Date.now()): string {
  return new Date(epochMs).toDateString() === new Date(now).toDateString() ? formatClock(epochMs) : formatFull(epochMs);
}

/** How far apart two clocks may be before a message is marked, in ms. */
export const CLOCK_SKEW_MS = 60_000;

/** A duration such as `5 min`, `3 h` or `2 days`, rounded. */
export function formatDuration(ms: number): string {
  const minutes = Math.round(Math.abs(ms) / 60_000);
  if (minutes < 90) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.round(hours / 24)} days`;
}

/**
 * A note when the sender's clock (`sentAt`) was more than a minute away from
 * the server's (`serverAt`), e.g. `sender's clock is 5 min ahead`; else null.
 */
export function clockSkewNote(sentAt: number, serverAt: number, mine: boolean): string | null {
  const skew = sentAt - serverAt;
  if (Math.abs(skew) <= CLOCK_SKEW_MS) return null;
  return `${mine ? 'your' : "sender's"} clock is ${formatDuration(skew)} ${skew > 0 ? 'ahead' : 'behind'}`;
}
