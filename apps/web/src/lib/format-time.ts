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
