import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ClusterBackend, type PrimaryChannel } from '../../apps/server/src/cluster/cluster-backend.js';
import { ClusterState } from '../../apps/server/src/cluster/cluster-state.js';
import { parseIpc, WorkerMessage } from '../../apps/server/src/cluster/ipc.js';
import { RedisBackend } from '../../apps/server/src/backends/redis/redis-backend.js';
import { MemoryBackend, MemoryBus } from '../../apps/server/src/hub/memory-backend.js';
import { backendContract, RecordingSink, type MakeService } from '../helpers/backend-contract.js';
import { startRedis } from '../helpers/redis-server.js';

const silent = { warn() {} };

const memory: MakeService = async (count, maxClients, maxPerIp) => {
  const bus = new MemoryBus(maxClients, maxPerIp === undefined ? {} : { maxPerIp });
  const nodes = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const backend = new MemoryBackend(bus, `n${i}`);
      const sink = new RecordingSink();
      await backend.start(sink);
      return { backend, sink };
    }),
  );
  return {
    nodes,
    crash: async (i) => bus.detach(`n${i}`),
    close: async () => {},
  };
};

/**
 * The real ClusterBackend and the real ClusterState, joined by in-process
 * channels that behave like IPC (messages cloned, delivered in order on a later
 * turn) and by real Unix-socket mesh links.
 */
const cluster: MakeService = async (count, maxClients, maxPerIp) => {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-contract-'));
  const listeners = new Map<number, Set<(message: unknown) => void>>();
  const gone = new Set<number>();
  const state = new ClusterState(
    maxClients,
    (workerId, message) => {
      const copy = structuredClone({ ch: 'chorus', ...message });
      setImmediate(() => {
        for (const listener of listeners.get(workerId) ?? []) listener(copy);
      });
    },
    maxPerIp === undefined ? {} : { maxPerIp },
  );
  const channel = (workerId: number): PrimaryChannel => ({
    post(message) {
      if (gone.has(workerId)) return false;
      const parsed = parseIpc(WorkerMessage, structuredClone(message));
      if (parsed) setImmediate(() => gone.has(workerId) || state.receive(workerId, parsed));
      return true;
    },
    subscribe(listener) {
      const set = listeners.get(workerId) ?? new Set();
      set.add(listener);
      listeners.set(workerId, set);
      return () => set.delete(listener);
    },
  });
  const nodes: { backend: ClusterBackend; sink: RecordingSink }[] = [];
  for (let i = 1; i <= count; i++) {
    const backend = new ClusterBackend({ meshPath: join(dir, `w${i}.sock`), log: silent, channel: channel(i) });
    const sink = new RecordingSink();
    await backend.start(sink);
    nodes.push({ backend, sink });
  }
  return {
    nodes,
    crash: async (index) => {
      const workerId = index + 1;
      gone.add(workerId);
      await nodes[index]!.backend.close();
      state.workerGone(workerId);
    },
    close: async () => {
      for (const { backend } of nodes) await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** How long a crashed node's clients stay counted in the Redis contract runs. */
const LEASE_MS = 800;
let services = 0;

/**
 * Real RedisBackends on one private redis-server; each service gets a key
 * prefix of its own, so tests never see each other's state.
 */
const redis =
  (url: string): MakeService =>
  async (count, maxClients, maxPerIp) => {
    const prefix = `contract${++services}:`;
    const rooms = { saveRoomChanges: async () => {}, loadRooms: async () => [] };
    const nodes: { backend: RedisBackend; sink: RecordingSink }[] = [];
    for (let i = 0; i < count; i++) {
      const backend = new RedisBackend({
        url,
        node: `n${i}`,
        maxClients,
        ...(maxPerIp === undefined ? {} : { maxPerIp }),
        leaseMs: LEASE_MS,
        prefix,
        rooms,
        log: { warn() {}, info() {} },
      });
      const sink = new RecordingSink();
      await backend.start(sink);
      nodes.push({ backend, sink });
    }
    return {
      nodes,
      crash: async (index) => nodes[index]!.backend.abandon(),
      close: async () => {
        for (const { backend } of nodes) await backend.close();
      },
    };
  };

t.test('memory backend', async (t) => backendContract(t, memory));
t.test('cluster backend', async (t) => backendContract(t, cluster));
t.test('redis backend', async (t) => {
  const server = await startRedis();
  t.teardown(() => server.stop());
  backendContract(t, redis(server.url));
});
