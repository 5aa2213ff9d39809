/**
 * The client id named by a path such as `/alice`, or null on `/`.
 * Malformed escapes yield the raw text so that validation can explain it.
 */
export function idFromPath(pathname: string): string | null {
  const raw = pathname.replace(/^\/+/, '').replace(/\/+$/, '');
  if (raw === '') return null;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** The path that names `clientId` (the inverse of {@link idFromPath}). */
export function pathForId(clientId: string): string {
  return `/${encodeURIComponent(clientId)}`;
}
