import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CLIENT_ID_PATTERN } from '@chorus/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { landingHtml } from './landing-html.js';

export interface LandingPageOptions {
  /** The web client's address (CLIENT_URL), without a trailing slash; undefined when not configured. */
  readonly clientUrl: string | undefined;
  /** The protocol reference to serve at /protocol; default docs/protocol.md of the source tree, when present. */
  readonly protocolDoc?: string;
}

/** docs/protocol.md next to the build (present when the server runs from the repository). */
const SOURCE_PROTOCOL_DOC = fileURLToPath(new URL('../../../../docs/protocol.md', import.meta.url));

/**
 * A person who opens the chat server in a browser (`/`, or `/alice`: the
 * server's port instead of the web client's) gets a small page saying what
 * this is and where to go, instead of a JSON 404. Every other unknown path
 * keeps Fastify's JSON 404, for API clients.
 */
export default async function landingPage(app: FastifyInstance, options: LandingPageOptions): Promise<void> {
  const doc = options.protocolDoc ?? SOURCE_PROTOCOL_DOC;
  const protocolDoc = existsSync(doc);
  const page = (request: FastifyRequest, name?: string) =>
    landingHtml({
      clientUrl: options.clientUrl,
      // As the browser reached us (behind a trusted TLS proxy, wss).
      socketBase: `${request.protocol === 'https' ? 'wss' : 'ws'}://${request.host}`,
      protocolDoc,
      ...(name === undefined ? {} : { name }),
    });

  app.get('/', async (request, reply) => {
    reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8');
    return page(request);
  });

  // Static routes (/health, /ready, /protocol) win over this one in Fastify's router.
  app.get<{ Params: { name: string } }>('/:name', async (request, reply) => {
    const { name } = request.params;
    if (!CLIENT_ID_PATTERN.test(name)) return reply.callNotFound();
    // Not a page of this server: 404, with the page that says where the chat is.
    reply.code(404).header('cache-control', 'no-cache').type('text/html; charset=utf-8');
    return page(request, name);
  });

  if (protocolDoc) {
    app.get('/protocol', async (_request, reply) => {
      reply.header('cache-control', 'no-cache').type('text/markdown; charset=utf-8');
      return readFile(doc, 'utf8');
    });
  }
}
