import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';

export interface MetricsServerOptions {
  readonly port: number;
  readonly host: string;
  /** When set, a scrape must send `Authorization: Bearer <token>`. */
  readonly token?: string | undefined;
  /** The node's metrics in Prometheus' text format; a rejection answers 503. */
  readonly render: () => Promise<{ contentType: string; body: string }>;
}

/**
 * `GET /metrics` on a port of its own, apart from the chat port: a load
 * balancer or the public internet that reaches the chat never reaches it by
 * accident, and in a cluster it is the primary that answers (it alone sees
 * every worker), where the chat port lands on any worker.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<{ app: FastifyInstance; port: number }> {
  const app = Fastify({ logger: false });
  const expected = options.token === undefined ? null : Buffer.from(`Bearer ${options.token}`);
  app.get('/metrics', async (request, reply) => {
    if (expected && !sameSecret(request.headers.authorization, expected)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ code: 'UNAUTHORIZED', message: 'metrics need the METRICS_TOKEN as a bearer token' });
    }
    try {
      const { contentType, body } = await options.render();
      return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
    } catch (err) {
      return reply.code(503).send({ code: 'METRICS_UNAVAILABLE', message: (err as Error).message });
    }
  });
  await app.listen({ port: options.port, host: options.host });
  const address = app.server.address();
  return { app, port: typeof address === 'object' && address ? address.port : options.port };
}

function sameSecret(given: string | undefined, expected: Buffer): boolean {
  if (given === undefined) return false;
  const bytes = Buffer.from(given);
  return bytes.length === expected.length && timingSafeEqual(bytes, expected);
}
