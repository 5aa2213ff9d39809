/** A stable hue (0-359) for a client id, so each person keeps one colour. */
export function hueOf(id: string): number {
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) >>> 0;
  return hash % 360;
}

/** The first character of an id, upper-cased, for an avatar. */
export function initialOf(id: string): string {
  return (Array.from(id)[0] ?? '?').toUpperCase();
}
