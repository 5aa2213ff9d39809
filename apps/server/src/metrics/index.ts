import { hostname } from 'node:os';
import type { ServerConfig } from '../config.js';

export { answerMetricsRequests, ClusterGather } from './cluster-gather.js';
export { startMetricsServer } from './metrics-server.js';
export { createNodeMetrics, type NodeMetrics } from './node-metrics.js';
export { timedAppend } from './timed-appends.js';

/**
 * The `node` label of every metric: the machine and the chat port, the same
 * in the primary and every worker (their sums are one node), and different for
 * two nodes on one machine.
 */
export function metricsNodeLabel(config: Pick<ServerConfig, 'PORT'>): string {
  return `${hostname()}:${config.PORT}`;
}
