/** What the client app's `GET /env` tells the browser about its deployment. */
export interface ClientEnv {
  readonly HOST: string;
  readonly PORT: number | string;
  /** The chat server's base WebSocket URL, with its scheme (`ws://…` or `wss://…`). */
  readonly SERVER: string;
}

function isClientEnv(value: unknown): value is ClientEnv {
  if (typeof value !== 'object' || value === null) return false;
  const server = (value as Record<string, unknown>).SERVER;
  return typeof server === 'string' && /^wss?:\/\//.test(server);
}

/**
 * Loads `/env` from the client app that served this page. The server URL is
 * only ever known at run time, so one build serves every deployment.
 */
export async function loadEnv(fetchFn: typeof fetch = fetch): Promise<ClientEnv> {
  const res = await fetchFn('/env', { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (!res.ok) throw new Error(`GET /env answered ${res.status}`);
  const body: unknown = await res.json();
  if (!isClientEnv(body)) throw new Error('GET /env did not name a ws:// or wss:// SERVER');
  return body;
}

/**
 * The WebSocket URL for `clientId` on the chat server at `server`; with
 * `resume`, the server holds live traffic until the client's resume frame;
 * with `takeover`, it takes the id from a connection that holds it.
 */
export function socketUrl(server: string, clientId: string, options: { resume?: boolean; takeover?: boolean } = {}): string {
  const url = `${server.replace(/\/+$/, '')}/ws/${encodeURIComponent(clientId)}`;
  const query = [options.resume ? 'resume=1' : null, options.takeover ? 'takeover=1' : null].filter((p) => p !== null);
  return query.length > 0 ? `${url}?${query.join('&')}` : url;
}

/** The chat server's http(s) address (for its HTTP routes: files) from its WebSocket URL. */
export function fileServerBase(server: string): string {
  return server.replace(/^ws(s?):\/\//i, 'http$1://').replace(/\/+$/, '');
}
