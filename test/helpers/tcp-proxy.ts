import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /**
   * A partition: from now on nothing crosses, in either direction, and new
   * connections are accepted but never reach the target. Sockets stay open
   * (a black hole, not a refusal), as when a network path silently drops.
   */
  cut(): void;
  /** The target goes down: every connection is reset, and new ones are refused, until `heal`. */
  down(): void;
  /** Ends the partition or the outage: the held connections are dropped (their peers reconnect) and new ones go through. */
  heal(): void;
  close(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 to `targetPort` that a test can cut off (fault tests). */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let cut = false;
  let down = false;
  const pairs = new Set<[Socket, Socket | null]>();
  const server: Server = createServer((client) => {
    client.on('error', () => {});
    if (down) {
      client.destroy();
      return;
    }
    if (cut) {
      // Held, never answered: the peer sees a connection that says nothing.
      const pair: [Socket, Socket | null] = [client, null];
      pairs.add(pair);
      client.on('close', () => pairs.delete(pair));
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    upstream.on('error', () => client.destroy());
    const pair: [Socket, Socket | null] = [client, upstream];
    pairs.add(pair);
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk) => {
        if (!cut) to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const dropAll = () => {
    for (const [client, upstream] of [...pairs]) {
      client.destroy();
      upstream?.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    cut: () => {
      cut = true;
    },
    down: () => {
      down = true;
      dropAll();
    },
    heal: () => {
      cut = false;
      down = false;
      dropAll();
    },
    close: async () => {
      dropAll();
      server.close();
      await once(server, 'close');
    },
  };
}
