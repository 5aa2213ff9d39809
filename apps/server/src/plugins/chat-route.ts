import websocket from '@fastify/websocket';
import { clientIdProblem, CloseCode, ERRORS, SUBPROTOCOL, TEXT_SUBPROTOCOL } from '@chorus/protocol';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { Connection } from '../hub/connection.js';
import rateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import type { Hub } from '../hub/hub.js';
import type { Codec } from '../hub/codec.js';
import { JsonCodec } from '../protocols/json-codec.js';
import { TextCodec } from '../protocols/text-codec.js';
import { bearerToken, tokenFromProtocols, type Accounts, type ConnectionAuth } from '../accounts/index.js';
import { Heartbeat } from '../transport/heartbeat.js';
import { SessionGuard } from '../transport/session-guard.js';
import { originAllowed } from '../transport/origin-policy.js';
import { WebSocketSession } from '../transport/websocket-session.js';

/** How long a shutdown waits for clients to answer their 1001 close frame before it cuts their sockets. */
const SHUTDOWN_CLOSE_GRACE_MS = 2_000;

export interface ChatRouteOptions {
  readonly hub: Hub;
  /** This process's name in the service, shown in JSON welcome frames. */
  readonly node: string;
  readonly maxFrameBytes: number;
  readonly maxBufferedBytes: number;
  readonly heartbeatIntervalMs: number;
  readonly upgradesPerMinutePerIp: number;
  readonly allowedOrigins: readonly string[];
  readonly production: boolean;
  /** Who may connect as which id (AUTH_MODE, tokens). */
  readonly accounts: Accounts;
  /** An ioredis connection that holds the upgrade counts for every node (several nodes); unset: per worker. */
  readonly sharedCounters?: unknown;
  /** PUBLIC_URL: put before file links in the text protocol (unset: the links are paths). */
  readonly publicUrl?: string | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The upgrade's authorization, decided before the handler runs. */
    chorusAuth: ConnectionAuth | null;
  }
}

/**
 * `GET /ws/:clientId`: upgrades to a WebSocket speaking the text protocol, or
 * `chorus.v1` when the client asks for it, and hands the connection to the hub.
 */
async function chatRoute(app: FastifyInstance, options: ChatRouteOptions): Promise<void> {
  const { hub } = options;
  const onSlowConsumer = () => hub.metrics.slowConsumer();
  const codecs: Record<'text' | 'json', Codec> = {
    text: new TextCodec({ baseUrl: options.publicUrl }),
    json: new JsonCodec({ node: options.node, maxFrameBytes: options.maxFrameBytes }),
  };

  // One listener per event for every socket (not three closures per connection).
  const connections = new WeakMap<WebSocket, Connection>();
  function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
    const connection = connections.get(this);
    if (isBinary) connection?.receiveBinary();
    else connection?.receive(data.toString());
  }
  function onClose(this: WebSocket): void {
    heartbeat.forget(this);
    guard.forget(this);
    connections.get(this)?.closed();
  }
  function onSocketError(this: WebSocket, err: Error): void {
    app.log.debug({ err }, 'socket error');
  }
  /**
   * @fastify/websocket keeps the upgrade's request and reply alive for as long as
   * the socket lives (its error listener closes over them; the raw response stays
   * attached to the TCP socket). A chat connection needs neither after the upgrade.
   */
  function forgetUpgrade(socket: WebSocket, raw: IncomingMessage): void {
    socket.removeAllListeners('error');
    socket.on('error', onSocketError);
    const tcp = raw.socket as Socket & { _httpMessage?: ServerResponse | null };
    tcp._httpMessage?.detachSocket(tcp);
  }

  // Set as the shutdown begins. The clients it says goodbye to (1001) reconnect
  // at once, and until the listening socket closes (after preClose) they can
  // reach this process again: each would be a new connection that the close
  // then waits for, until a worker misses its stop deadline and is killed.
  // While closing, upgrades are refused (503, retryable) instead.
  let closing = false;
  const heartbeat = new Heartbeat(options.heartbeatIntervalMs);
  const guard = new SessionGuard(options.accounts, hub, options.heartbeatIntervalMs);
  app.addHook('onClose', async () => {
    heartbeat.stop();
    guard.stop();
  });
  app.decorateRequest('chorusAuth', null);

  // Upgrades per address per minute (per worker, or over every node with Redis): a
  // reconnect storm or a script hammering the endpoint is answered 429 before any socket is made.
  await app.register(rateLimit, {
    global: false,
    // With Redis away the limit is not enforced for a moment rather than every upgrade failing.
    ...(options.sharedCounters ? { redis: options.sharedCounters, nameSpace: 'chorus:upgrades:', skipOnError: true } : {}),
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      code: 'TOO_MANY_UPGRADES',
      message: `${ERRORS.TOO_MANY_UPGRADES.message}: try again in ${Math.ceil(context.ttl / 1000)} s`,
    }),
  });

  await app.register(websocket, {
    // On shutdown the hub says goodbye with 1001 (reconnect elsewhere), not the plugin's bare close().
    preClose: async function (this: FastifyInstance) {
      closing = true;
      await hub.closeAll(CloseCode.GOING_AWAY, ERRORS.SHUTTING_DOWN.message);
      // Sockets the hub does not hold yet (still being admitted) go too: ws does not track them.
      heartbeat.closeAll(CloseCode.GOING_AWAY, ERRORS.SHUTTING_DOWN.message);
      // The HTTP server's close waits for every socket, upgraded ones included.
      await heartbeat.closed(SHUTDOWN_CLOSE_GRACE_MS);
      await new Promise<void>((resolve) => this.websocketServer.close(() => resolve()));
    },
    options: {
      maxPayload: options.maxFrameBytes,
      // The heartbeat already knows every socket; ws's own set would cost a closure per connection.
      clientTracking: false,
      // chorus.v1 when asked, chorus.text when asked; anything else (or nothing) means the text
      // protocol without a selected subprotocol. `auth.<token>` is never selected.
      handleProtocols: (offered: Set<string>) =>
        offered.has(SUBPROTOCOL) ? SUBPROTOCOL : offered.has(TEXT_SUBPROTOCOL) ? TEXT_SUBPROTOCOL : false,
    },
  });

  app.route<{ Params: { clientId: string }; Querystring: { resume?: string; takeover?: string } }>({
    method: 'GET',
    url: '/ws/:clientId',
    config: { rateLimit: { max: options.upgradesPerMinutePerIp, timeWindow: 60_000 } },
    // Runs before the upgrade: a page from a site that may not connect gets 403, not a socket.
    onRequest: async (request, reply) => {
      if (closing) {
        return reply
          .code(503)
          .header('connection', 'close')
          .header('retry-after', '1')
          .send({ code: 'SHUTTING_DOWN', message: ERRORS.SHUTTING_DOWN.message });
      }
      if (!originAllowed(request.headers.origin, options.allowedOrigins, options.production)) {
        request.log.info({ origin: request.headers.origin }, 'refused origin');
        return reply.code(403).send({ code: 'ORIGIN_NOT_ALLOWED', message: ERRORS.ORIGIN_NOT_ALLOWED.message });
      }
    },
    // The token travels as the subprotocol `auth.<token>` (browsers) or an Authorization header
    // (terminal clients), never in the URL. Decided here, so the handler has it synchronously.
    preValidation: async (request) => {
      if (!request.ws || clientIdProblem(request.params.clientId)) return;
      const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      const token = tokenFromProtocols(offered) ?? bearerToken(request.headers.authorization);
      request.chorusAuth = await options.accounts.authorizeConnection(request.params.clientId, token);
    },
    handler: async (request, reply) => {
      const problem = clientIdProblem(request.params.clientId);
      if (problem) return reply.code(400).send({ code: 'INVALID_CLIENT_ID', message: problem });
      return reply.code(426).header('upgrade', 'websocket').send({ code: 'UPGRADE_REQUIRED', message: ERRORS.UPGRADE_REQUIRED.message });
    },
    wsHandler: (socket, request) => {
      const { clientId } = request.params;
      const codec = socket.protocol === SUBPROTOCOL ? codecs.json : codecs.text;
      const session = new WebSocketSession(clientId, socket, options.maxBufferedBytes, onSlowConsumer);
      if (closing) {
        // Upgraded before the shutdown began, admitted after: goodbye like the others.
        hub.refuse(session, codec, 'SHUTTING_DOWN');
        return;
      }
      const problem = clientIdProblem(clientId);
      if (problem) {
        request.log.info({ clientId, reason: 'invalid-id' }, 'refused');
        hub.refuse(session, codec, 'INVALID_CLIENT_ID', problem);
        return;
      }
      const auth = request.chorusAuth;
      if (!auth?.ok) {
        request.log.info({ clientId, reason: auth?.reason ?? 'unchecked' }, 'refused');
        hub.refuse(session, codec, auth?.error ?? 'AUTH_REQUIRED');
        return;
      }
      // A signed-in user may have several connections (tabs, devices); a guest one.
      const signedIn = auth.user !== null;
      // `?resume=1`: live traffic waits until the client's resume frame has been answered.
      // `?takeover=1`: an id another connection holds is taken from it (that one closes with 4410).
      const connection = hub.open(session, codec, {
        resume: request.query.resume === '1',
        takeover: request.query.takeover === '1',
        ip: request.ip,
        multi: signedIn,
      });
      heartbeat.watch(socket);
      if (auth.user !== null) guard.watch(socket, auth.user, auth.sessionId, auth.expiresAt);
      connections.set(socket, connection);
      socket.on('message', onMessage);
      socket.on('close', onClose);
      forgetUpgrade(socket, request.raw);
    },
  });
}

export default fp(chatRoute, { name: 'chorus-chat-route', fastify: '5.x' });
