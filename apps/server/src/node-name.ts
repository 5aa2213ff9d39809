import { randomBytes } from 'node:crypto';

/** A name for this process that is unique in the service while it runs (prefixes message ids). */
export function nodeName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}
