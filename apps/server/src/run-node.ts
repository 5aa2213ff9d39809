import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { explainListenError } from '@chorus/service-kit';
import { build } from './app.js';
import type { ServerConfig } from './config.js';
import type { HubBackend } from './hub/backend.js';
import { Hub } from './hub/hub.js';

export interface RunningNode {
  readonly app: FastifyInstance;
  readonly hub: Hub;
  readonly port: number;
  /** Closes sockets (1001), the HTTP server and the backend. */
  stop(): Promise<void>;
}

/**
 * Starts one serving process (a worker, or the whole server with WORKERS<=1):
 * connects the backend, builds the app and listens. A listen failure is thrown
 * as one plain sentence (see explainListenError) when it is a known case.
 */
export async function runNode(
  config: ServerConfig,
  backend: HubBackend,
  node: string,
  log: Logger,
  clock?: () => number,
): Promise<RunningNode> {
  const hub = new Hub({ backend, node, log, ...(clock ? { clock } : {}) });
  await hub.start();
  const app = await build(config, { hub, node, log, stats: () => backend.stats() });
  try {
    await app.listen({ port: config.PORT, host: config.HOST, listenTextResolver: () => 'accepting connections' });
  } catch (err) {
    await backend.close().catch(() => {});
    throw new Error(explainListenError(err, config.PORT) ?? (err as Error).message, { cause: err });
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.PORT;
  return {
    app,
    hub,
    port,
    async stop() {
      await app.close();
      await backend.close();
    },
  };
}
