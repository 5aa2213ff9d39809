import type { AddressInfo } from 'node:net';

/** The part of a pino or Fastify logger that listenOnce uses. */
export interface ChildLogger<L> {
  info(fields: object, message: string): void;
  child(bindings: Record<string, never>, options: { level: 'silent' }): L;
}

/** The part of a Fastify instance that listenOnce uses. */
export interface Listenable<L extends ChildLogger<L>> {
  log: L;
  ready(): PromiseLike<unknown>;
  listen(options: { port: number; host: string }): Promise<string>;
  readonly server: { address(): AddressInfo | string | null };
}

/**
 * Listens, and logs "accepting connections" once, with the port bound. Fastify
 * itself logs a line per address of the machine when HOST is 0.0.0.0 (lo,
 * eth0, docker0, ...): the same news several times per process. Its logger is
 * silenced for the listen alone (after `ready`, nothing else logs through the
 * root logger meanwhile). Resolves with the port bound; rejects with listen's
 * error (EADDRINUSE...), which the caller explains.
 */
export async function listenOnce<L extends ChildLogger<L>>(app: Listenable<L>, options: { port: number; host: string }): Promise<number> {
  await app.ready();
  const log = app.log;
  app.log = log.child({}, { level: 'silent' });
  try {
    await app.listen(options);
  } finally {
    app.log = log;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  log.info({ host: options.host, port }, 'accepting connections');
  return port;
}

/** The address a browser on this machine opens for a server listening on `host`:`port`. */
export function browserUrl(host: string, port: number): string {
  // Listening everywhere: this machine reaches it as localhost.
  const name = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${name}:${port}/`;
}
