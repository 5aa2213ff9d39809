import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * The origins the page may connect to: the chat server's WebSocket origin
 * (SERVER) and the same host over HTTP(S), where the sign-in routes are.
 */
export function chatServerOrigins(server: string): string[] {
  const ws = new URL(server);
  const http = new URL(server);
  http.protocol = ws.protocol === 'wss:' ? 'https:' : 'http:';
  return [ws.origin.replace(/^http/, 'ws'), http.origin];
}

/**
 * Security headers on every answer (helmet): a Content-Security-Policy that
 * lets the page load its own scripts and styles, nothing inline, connect only
 * to itself and the chat server, and never be framed; nosniff; no referrer
 * sent along with the page's links. `upgrade-insecure-requests` only when the
 * chat server is on wss://: it would turn a development ws:// server into a
 * wss:// one that is not there.
 */
export async function securityHeaders(app: FastifyInstance, server: string): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        // The favicon is a data: URL in index.html; shared images and media come from the chat server.
        imgSrc: ["'self'", 'data:', chatServerOrigins(server)[1]!],
        mediaSrc: ["'self'", chatServerOrigins(server)[1]!],
        fontSrc: ["'self'"],
        connectSrc: ["'self'", ...chatServerOrigins(server)],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(server.startsWith('wss:') ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
    // The page is served over plain HTTP in development: HSTS only where the chat is on TLS.
    strictTransportSecurity: server.startsWith('wss:'),
  });
}
