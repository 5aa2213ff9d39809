import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { logOptions } from '@chorus/service-kit';
import type { ClientConfig } from './config.js';
import { securityHeaders } from './security-headers.js';

/**
 * Hashed build output (Vite names each file after its contents): a new build
 * is a new name, so a browser may keep these for a year without asking again.
 */
const IMMUTABLE = 'public, max-age=31536000, immutable';

export interface BuildOptions {
  /** Whether the logs go to a person's terminal (readable lines in development); default false: JSON. */
  readonly terminal?: boolean;
}

/**
 * Builds the client app without listening: the built browser client from
 * STATIC_DIR, `GET /env` telling the browser where the chat server is, and the
 * app's index.html for any other path (the client id may be in the path).
 */
export async function build(config: ClientConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: logOptions('client', config, options.terminal ?? false),
    logController: new LogController({ disableRequestLogging: true }),
  });
  const index = join(config.STATIC_DIR, 'index.html');
  if (!existsSync(index)) {
    throw new Error(`no built browser client at ${config.STATIC_DIR}: run "npm run build" first`);
  }

  await securityHeaders(app, config.SERVER);

  app.get('/health', async () => ({ status: 'ok' }));

  // Read at request time by the browser, so one build serves every deployment.
  app.get('/env', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { HOST: config.HOST, PORT: config.PORT, SERVER: config.SERVER };
  });

  await app.register(fastifyStatic, {
    root: config.STATIC_DIR,
    wildcard: false,
    index: ['index.html'],
    // The build writes .br and .gz beside each text asset (apps/web/vite.config.ts): no compression per request.
    preCompressed: true,
    // index.html names the current hashed assets: always asked again (a 304 when unchanged).
    cacheControl: false,
    setHeaders: (res, path) => {
      res.setHeader('cache-control', /[\\/]assets[\\/]/.test(path) ? IMMUTABLE : 'no-cache');
    },
  });

  app.setNotFoundHandler((request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return reply.code(404).send({ code: 'NOT_FOUND', message: `${request.method} ${request.url} not found` });
    }
    // A missing asset is a 404; any other path is a page of the app (e.g. /alice).
    if (request.url.startsWith('/assets/')) return reply.code(404).send({ code: 'NOT_FOUND', message: 'no such asset' });
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html');
  });
  return app;
}
