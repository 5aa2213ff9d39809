import { apiDocs } from './plugins/api-docs.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ServerConfig } from './config.js';
import type { Hub } from './hub/hub.js';
import type { BackendStats } from './hub/backend.js';
import type { Accounts } from './accounts/index.js';
import authRoutes from './plugins/auth-routes.js';
import chatRoute from './plugins/chat-route.js';
import fileRoutes from './plugins/file-routes.js';
import type { Attachments } from './files/attachments.js';
import health from './plugins/health.js';
import landingPage from './plugins/landing-page.js';

export interface AppDeps {
  readonly hub: Hub;
  readonly node: string;
  readonly log: FastifyBaseLogger;
  readonly stats: () => Promise<BackendStats>;
  readonly accounts: Accounts;
  /**
   * With several nodes: a Redis connection (ioredis) for the per-address
   * upgrade counts, so that they add up over every node and worker.
   */
  readonly sharedCounters?: unknown;
  /** Files (uploads, downloads); the same the hub was given. None: no /files routes. */
  readonly attachments?: Attachments;
  /** The clock of the file routes (links, tickets, upload limits); default Date.now. */
  readonly clock?: () => number;
}

/**
 * Builds the server's Fastify instance (routes and plugins) without listening;
 * main.ts listens, tests call this with their own hub.
 */
export async function build(config: ServerConfig, deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log,
    // One log line per connection is written by the hub; per-request lines would double them.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
    // request.ip (the per-address limits, the logs) comes from X-Forwarded-For only when the
    // connection is from a proxy the operator listed.
    trustProxy: typeof config.TRUST_PROXY === 'number' ? trustHops(config.TRUST_PROXY) : config.TRUST_PROXY,
  });
  await apiDocs(app);
  await app.register(health, { stats: deps.stats });
  await app.register(landingPage, { clientUrl: config.CLIENT_URL });
  await app.register(authRoutes, {
    prefix: '/auth',
    accounts: deps.accounts,
    allowedOrigins: config.ALLOWED_ORIGINS,
    production: config.ENVIRONMENT === 'production',
  });
  await app.register(chatRoute, {
    hub: deps.hub,
    node: deps.node,
    maxFrameBytes: config.MAX_FRAME_BYTES,
    maxBufferedBytes: config.MAX_BUFFERED_BYTES,
    heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    upgradesPerMinutePerIp: config.UPGRADES_PER_MINUTE_PER_IP,
    allowedOrigins: config.ALLOWED_ORIGINS,
    production: config.ENVIRONMENT === 'production',
    accounts: deps.accounts,
    ...(deps.sharedCounters ? { sharedCounters: deps.sharedCounters } : {}),
    publicUrl: config.PUBLIC_URL,
  });
  if (deps.attachments) {
    await app.register(fileRoutes, {
      attachments: deps.attachments,
      accounts: deps.accounts,
      view: () => deps.hub.view,
      uploadsPerMinute: config.UPLOADS_PER_MINUTE,
      maxImagePixels: config.MAX_IMAGE_PIXELS,
      uploadTtlMs: config.UPLOAD_TTL_SECONDS * 1000,
      allowedOrigins: config.ALLOWED_ORIGINS,
      production: config.ENVIRONMENT === 'production',
      ...(deps.clock ? { clock: deps.clock } : {}),
    });
  }
  return app;
}

/** The nearest `hops` proxies are believed (Fastify's types take a number of hops only as a function). */
function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}
