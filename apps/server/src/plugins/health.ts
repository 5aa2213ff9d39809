import type { FastifyInstance } from 'fastify';
import type { BackendStats } from '../hub/backend.js';

export interface HealthOptions {
  /** Figures of the whole server (all workers), or a rejection when they cannot be had. */
  readonly stats: () => Promise<BackendStats>;
}

/** `GET /health` answers while the process runs; `GET /ready` reports the workers and the admission cap. */
export default async function health(app: FastifyInstance, options: HealthOptions): Promise<void> {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/ready', async (_request, reply) => {
    if (closing) return reply.code(503).send({ status: 'shutting-down' });
    try {
      const stats = await options.stats();
      return { status: 'ready', ...stats };
    } catch (err) {
      _request.log.warn({ err }, 'readiness check failed');
      return reply.code(503).send({ status: 'unavailable' });
    }
  });
}
