/** What the chat server's own page says (see landing-page.ts). */
export interface LandingFacts {
  /** The web client's address (CLIENT_URL), or undefined when it is not configured. */
  readonly clientUrl: string | undefined;
  /** This server's WebSocket base as the request reached it, e.g. `ws://localhost:8080`. */
  readonly socketBase: string;
  /** Whether GET /protocol serves the protocol reference. */
  readonly protocolDoc: boolean;
  /** The name in the path (`/alice`): someone looking for the chat with that name. */
  readonly name?: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for HTML content and quoted attributes (the Host header is the client's to choose). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/**
 * The small page the chat server answers at `/` (and at `/alice`, a mistake
 * one makes by opening the server's port instead of the web client's): what
 * this is, where the web client is, the health endpoints and the protocol.
 */
export function landingHtml(facts: LandingFacts): string {
  const client = facts.clientUrl === undefined ? undefined : escapeHtml(facts.clientUrl);
  const name = facts.name === undefined ? undefined : escapeHtml(facts.name);
  const socket = escapeHtml(facts.socketBase);
  const lookingFor =
    name === undefined
      ? ''
      : client === undefined
        ? `<p class="note">This is not the web client, so <strong>${name}</strong> cannot chat here: open the web client with /${name} at the end of its address.</p>`
        : `<p class="note">Looking for the chat as <strong>${name}</strong>? Open <a href="${client}/${name}">${client}/${name}</a>.</p>`;
  const webClient =
    client === undefined
      ? `<p>The web client is served by the Chorus client app, not by this server (in development: <code>npm start</code> runs it on port 3000). Setting <code>CLIENT_URL</code> on this server links it here.</p>`
      : `<p>Open <a href="${client}/">${client}/</a>, or <a href="${client}/alice">${client}/alice</a> to chat as alice.</p>`;
  const reference = facts.protocolDoc ? `<a href="/protocol">/protocol</a> (docs/protocol.md)` : `docs/protocol.md in the Chorus source`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chorus chat server</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; padding: 2rem 1rem; color: #1d1d1f; background: #fafafa; }
main { max-width: 40rem; margin: 0 auto; }
code { font-size: 0.9em; background: #eee; padding: 0.1em 0.3em; border-radius: 3px; }
.note { padding: 0.75rem 1rem; background: #fff4d6; border-radius: 6px; }
</style>
</head>
<body>
<main>
<h1>Chorus chat server</h1>
<p>This is the chat server of Chorus, a real-time chat service. People chat in the web client; programs and terminals connect to this server over a WebSocket.</p>
${lookingFor}
<h2>Chat in a browser</h2>
${webClient}
<h2>Connect a program</h2>
<ul>
<li><code>${socket}/ws/{name}</code>: the text protocol (<code>message,target</code>; <code>/help</code> lists the commands), or JSON frames with the subprotocol <code>chorus.v1</code>.</li>
<li>Protocol reference: ${reference}.</li>
<li>HTTP API (sign-up, sign-in, health): <a href="/docs">/docs</a> (OpenAPI, the document at <a href="/docs/json">/docs/json</a>).</li>
<li>Health: <a href="/health">/health</a> (the process runs), <a href="/ready">/ready</a> (workers, clients, the cap).</li>
</ul>
</main>
</body>
</html>
`;
}
