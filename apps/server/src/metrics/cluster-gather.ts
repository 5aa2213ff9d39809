import type { Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

/**
 * The primary and its workers talk about metrics under a tag of their own,
 * apart from the cluster's state messages (ipc.ts), which a worker on the
 * Redis backend does not listen to at all.
 */
const TAG = 'chorus-metrics';
/** How long the primary waits for every worker's metrics before the scrape fails. */
export const GATHER_TIMEOUT_MS = 3_000;

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

interface Request {
  readonly waiting: Set<number>;
  readonly parts: MetricsJson[];
  readonly done: (error: Error | null) => void;
}

/**
 * One view of a node across its processes, for the primary: asks every live
 * worker for its metrics (as JSON), adds them up with the primary's own, and
 * renders the sum. This does the work of prom-client's
 * AggregatorRegistry.clusterMetrics, without its pitfalls:
 *
 * - A worker that does not answer in time fails the scrape (the caller answers
 *   503). A sum without it would drop its counters, which Prometheus would read
 *   as a counter reset.
 * - An answer that comes after the scrape gave up, or from a worker that
 *   exited meanwhile, is dropped; prom-client's own listener throws on it
 *   inside the primary's message handler.
 * - Workers need no AggregatorRegistry of their own to answer (prom-client's
 *   listener is only installed by that constructor).
 *
 * Each metric is added up by its aggregator: counters, histograms and most
 * gauges by sum; the default metrics that cannot be summed (event-loop lag,
 * start time, version) carry their own aggregator (average, first, omit).
 */
export class ClusterGather {
  readonly #own: Registry;
  readonly #workers: () => Iterable<Worker>;
  readonly #requests = new Map<number, Request>();
  #nextId = 0;

  constructor(own: Registry, workers: () => Iterable<Worker>) {
    this.#own = own;
    this.#workers = workers;
  }

  /** Feed it every message a worker sends the primary. */
  onWorkerMessage(worker: Worker, raw: unknown): void {
    const answer = parseAnswer(raw);
    if (!answer) return;
    const request = this.#requests.get(answer.id);
    if (!request?.waiting.delete(worker.id)) return;
    request.parts.push(answer.metrics);
    if (request.waiting.size === 0) request.done(null);
  }

  /** A worker exited: a scrape waiting for it fails at once rather than at its timeout. */
  onWorkerExit(worker: Worker): void {
    for (const request of this.#requests.values()) {
      if (request.waiting.has(worker.id)) request.done(new Error(`worker ${worker.id} exited during the scrape`));
    }
  }

  /** The node's metrics in Prometheus' text format; rejects when a worker did not answer. */
  async metrics(): Promise<{ contentType: string; body: string }> {
    const id = this.#nextId++;
    const parts: MetricsJson[] = [await this.#own.getMetricsAsJSON()];
    const waiting = new Set<number>();
    for (const worker of this.#workers()) {
      if (!worker.isConnected()) continue;
      waiting.add(worker.id);
      worker.send({ ch: TAG, type: 'request', id }, undefined, () => {});
    }
    if (waiting.size > 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`worker(s) ${[...waiting].join(', ')} did not answer in time`)), GATHER_TIMEOUT_MS);
        const done = (error: Error | null) => {
          clearTimeout(timer);
          this.#requests.delete(id);
          if (error) reject(error);
          else resolve();
        };
        this.#requests.set(id, { waiting, parts, done });
      });
    }
    const sum = AggregatorRegistry.aggregate(parts);
    return { contentType: sum.contentType, body: await sum.metrics() };
  }
}

/** In a worker: answers the primary's requests with this process's metrics. */
export function answerMetricsRequests(registry: Registry): void {
  process.on('message', (raw: unknown) => {
    if (!isRecord(raw) || raw.ch !== TAG || raw.type !== 'request' || typeof raw.id !== 'number') return;
    const id = raw.id;
    void registry.getMetricsAsJSON().then((metrics) => {
      if (process.connected) process.send?.({ ch: TAG, type: 'answer', id, metrics }, undefined, {}, () => {});
    });
  });
}

function parseAnswer(raw: unknown): { id: number; metrics: MetricsJson } | null {
  if (!isRecord(raw) || raw.ch !== TAG || raw.type !== 'answer' || typeof raw.id !== 'number' || !Array.isArray(raw.metrics)) return null;
  return { id: raw.id, metrics: raw.metrics as MetricsJson };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
