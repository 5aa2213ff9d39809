import { isIP } from 'node:net';

/**
 * Whom the server believes about a client's address (Fastify's `trustProxy`):
 * false, nobody (the socket's peer is the client); a number, that many proxies
 * in front of the server; or the proxies' addresses and CIDR ranges, plus the
 * names `loopback`, `linklocal` and `uniquelocal`.
 */
export type TrustProxy = false | number | string[];

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Reads TRUST_PROXY; throws with the reason when it is not usable. `true`
 * (trust any sender) is refused on purpose: every client could then pick its
 * own address with a header and walk past the per-address limits.
 */
export function parseTrustProxy(value: string | undefined): TrustProxy {
  const text = (value ?? '').trim();
  if (text === '' || text === 'false') return false;
  if (text === 'true') {
    throw new Error(
      'true would let any client choose its own address; list the proxies (e.g. 10.0.0.5 or 10.0.0.0/8) or give their number',
    );
  }
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops < 1 || hops > 16) throw new Error('a number of proxies must be between 1 and 16');
    return hops;
  }
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  for (const entry of entries) {
    if (!isAddressOrRange(entry))
      throw new Error(`"${entry}" is not an IP address, a CIDR range or one of loopback, linklocal, uniquelocal`);
  }
  return entries;
}

function isAddressOrRange(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const [address = '', bits, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  if (!/^\d+$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}
