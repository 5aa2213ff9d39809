import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HubMetrics, RefusalReason, RouteKind } from '../hub/metrics.js';

/**
 * The Prometheus metrics of one process of a node (a worker, the single
 * process, or the primary), in a registry of its own. Every process of a node
 * registers the same names with the same `node` label, so that the primary can
 * add them up into one view of the node (see cluster-gather.ts).
 */
export interface NodeMetrics {
  readonly registry: Registry;
  /** What the hub counts (connections, admissions, messages ...). */
  readonly hub: HubMetrics;
  /** A storage transaction of `messages` messages committed (or failed) after `seconds`. */
  commit(seconds: number, messages: number): void;
}

/**
 * Commit latencies from a fraction of a millisecond (a SQLite batch, the WAL
 * in the page cache) to a second (an fsync behind a busy disk, PostgreSQL
 * across a network).
 */
const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createNodeMetrics(options: { node: string; connections?: () => number; defaults?: boolean }): NodeMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ node: options.node });
  // Process CPU and memory, GC, event-loop lag (nodejs_eventloop_lag_*), handles.
  if (options.defaults !== false) collectDefaultMetrics({ register: registry });

  const connections = options.connections;
  new Gauge({
    name: 'chorus_connections',
    help: 'WebSocket connections admitted and open on this node',
    registers: [registry],
    ...(connections
      ? {
          collect(this: Gauge) {
            this.set(connections());
          },
        }
      : {}),
  });
  const admissions = new Counter({ name: 'chorus_admissions_total', help: 'Connections admitted', registers: [registry] });
  const refusals = new Counter({
    name: 'chorus_refusals_total',
    help: 'Connections refused, by reason (full, taken, too-many, unavailable, internal, or the error code given before admission)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const routed = new Counter({
    name: 'chorus_messages_routed_total',
    help: 'Chat messages stored and routed, by target (client: private, room, all: everyone)',
    labelNames: ['target'],
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'chorus_deliveries_total',
    help: 'Chat messages given to connections of this node',
    registers: [registry],
  });
  const acks = new Counter({ name: 'chorus_acks_total', help: 'Sends acknowledged (stored)', registers: [registry] });
  const resumes = new Counter({ name: 'chorus_resumes_total', help: 'Resumes answered', registers: [registry] });
  const replayed = new Counter({
    name: 'chorus_resume_replayed_messages_total',
    help: 'Missed messages replayed by resumes',
    registers: [registry],
  });
  const slow = new Counter({
    name: 'chorus_slow_consumers_total',
    help: 'Connections closed because they did not read what they were sent (close code 4008)',
    registers: [registry],
  });
  const limited = new Counter({
    name: 'chorus_rate_limited_frames_total',
    help: 'Frames over their connection rate (answered RATE_LIMITED or dropped)',
    registers: [registry],
  });
  const commits = new Histogram({
    name: 'chorus_storage_commit_seconds',
    help: 'Time of each message-storage transaction, from its start to its commit',
    buckets: COMMIT_BUCKETS,
    registers: [registry],
  });
  const committed = new Counter({
    name: 'chorus_storage_committed_messages_total',
    help: 'Messages carried by the storage transactions',
    registers: [registry],
  });

  // One child per label value, made once: the hub's calls then only add to a number.
  const routedBy: Record<RouteKind, Counter.Internal> = {
    client: routed.labels('client'),
    room: routed.labels('room'),
    all: routed.labels('all'),
  };
  const refusedBy = new Map<string, Counter.Internal>();
  const hub: HubMetrics = {
    admitted: () => admissions.inc(),
    refused: (reason: RefusalReason) => {
      let child = refusedBy.get(reason);
      if (!child) refusedBy.set(reason, (child = refusals.labels(reason)));
      child.inc();
    },
    routed: (kind) => routedBy[kind].inc(),
    delivered: (count) => {
      if (count > 0) deliveries.inc(count);
    },
    acked: () => acks.inc(),
    resumed: (messages) => {
      resumes.inc();
      if (messages > 0) replayed.inc(messages);
    },
    rateLimited: () => limited.inc(),
    slowConsumer: () => slow.inc(),
  };
  return {
    registry,
    hub,
    commit(seconds, messages) {
      commits.observe(seconds);
      committed.inc(messages);
    },
  };
}
