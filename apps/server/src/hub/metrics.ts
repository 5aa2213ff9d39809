/** Why a connection was not admitted: a refusal of the backend, or an error code given before admission. */
export type RefusalReason = 'full' | 'taken' | 'too-many' | 'unavailable' | 'internal' | (string & {});

/** What a routed message was addressed to. */
export type RouteKind = 'client' | 'room' | 'all';

/**
 * What the hub counts as it works, for whoever watches the node (Prometheus,
 * see metrics/chorus-metrics.ts). The hub calls these on its hot path, so an
 * implementation only adds to numbers: no allocation, no I/O.
 */
export interface HubMetrics {
  admitted(): void;
  refused(reason: RefusalReason): void;
  routed(kind: RouteKind): void;
  /** `count` connections of this node were given a message. */
  delivered(count: number): void;
  acked(): void;
  /** A resume replayed `messages` missed messages to one connection. */
  resumed(messages: number): void;
  /** A frame was over its connection's rate (answered RATE_LIMITED, or dropped). */
  rateLimited(): void;
  /** A connection was closed because it did not read what it was sent. */
  slowConsumer(): void;
}

/** For a hub nobody watches (tests, tools). */
export const NO_METRICS: HubMetrics = {
  admitted() {},
  refused() {},
  routed() {},
  delivered() {},
  acked() {},
  resumed() {},
  rateLimited() {},
  slowConsumer() {},
};
