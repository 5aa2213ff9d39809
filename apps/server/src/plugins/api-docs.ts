import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteSpec } from './api-docs-app.js';

/** Response headers of the docs app that this app sets itself. */
const OWN_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date']);

/**
 * OpenAPI documentation of the HTTP routes at /docs (Swagger UI; the document
 * itself at /docs/json), as FastAPI users expect. Call before the routes are
 * registered: it records them as they are added. The documentation itself is
 * an app of its own (api-docs-app.ts), built on the first request for /docs
 * and answering every one after it: a process that nobody asks for /docs never
 * loads @fastify/swagger, its UI and their compilers (docs/deploy.md, "Idle memory").
 */
export async function apiDocs(app: FastifyInstance): Promise<void> {
  const routes: RouteSpec[] = [];
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/docs')) routes.push({ method: route.method, url: route.url });
  });
  let docsApp: Promise<FastifyInstance> | undefined;
  const docs = () => {
    docsApp ??= import('./api-docs-app.js').then(({ buildDocsApp }) => buildDocsApp(routes));
    // A failed build is tried again by the next request.
    docsApp.catch(() => {
      docsApp = undefined;
    });
    return docsApp;
  };
  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    const { host: _host, connection: _connection, 'content-length': _length, ...headers } = request.headers;
    const answer = await (await docs()).inject({ method: 'GET', url: request.url, headers });
    for (const [name, value] of Object.entries(answer.headers)) {
      if (!OWN_HEADERS.has(name) && value !== undefined) reply.header(name, value);
    }
    return reply.code(answer.statusCode).send(answer.rawPayload.length > 0 ? answer.rawPayload : undefined);
  };
  // GET only: Fastify answers HEAD from them (exposeHeadRoutes), as it did when swagger's routes were here.
  app.get('/docs', serve);
  app.get('/docs/*', serve);
  app.addHook('onClose', async () => {
    if (docsApp) await (await docsApp.catch(() => undefined))?.close();
  });
}
