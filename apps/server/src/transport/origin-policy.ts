/**
 * Whether a browser page from `origin` may open a WebSocket here. Requests
 * without an Origin header are not from a browser page (terminal clients,
 * servers) and are allowed: the header only protects browser users from other
 * sites. With an empty allow-list, development accepts any localhost origin and
 * production accepts no browser origin.
 */
export function originAllowed(origin: string | undefined, allowed: readonly string[], production: boolean): boolean {
  if (origin === undefined) return true;
  if (allowed.length > 0) return allowed.includes(origin);
  if (production) return false;
  try {
    const { hostname } = new URL(origin);
    return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
  } catch {
    return false;
  }
}
