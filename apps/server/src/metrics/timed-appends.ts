import { performance } from 'node:perf_hooks';
import type { Storage } from '../storage/storage.js';

type Append = Storage['append'];

/**
 * Wraps a storage's `append` (one transaction per call: a group commit's
 * batch) so that each call reports how long it took and how many messages it
 * carried, committed or failed.
 */
export function timedAppend(storage: Pick<Storage, 'append'>, observe: (seconds: number, messages: number) => void): Append {
  return async (messages) => {
    const started = performance.now();
    try {
      return await storage.append(messages);
    } finally {
      observe((performance.now() - started) / 1000, messages.length);
    }
  };
}
