import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** Password length bounds, in Unicode code points after NFC normalization. */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

/**
 * Normalizes a password to NFC, so that the same characters typed on systems
 * that compose them differently (é as one code point or two) are one password.
 */
export function normalizePassword(password: string): string {
  return password.normalize('NFC');
}

/** Why `password` may not be chosen for the account `username`, or null when it may. */
export function passwordProblem(password: string, username?: string): string | null {
  const length = [...normalizePassword(password)].length;
  if (length < PASSWORD_MIN_LENGTH) return `password must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `password must be at most ${PASSWORD_MAX_LENGTH} characters`;
  if (!password.isWellFormed()) return 'password contains an unpaired surrogate';
  if (username !== undefined && password.toLowerCase() === username.toLowerCase()) return 'password must not be the username';
  return null;
}

/** scrypt's cost parameters, the salt's length and the derived key's length (bytes). */
export interface ScryptParams {
  /** log2 of N, the CPU/memory cost: memory is about 128 * N * r bytes. */
  readonly logN: number;
  readonly r: number;
  readonly p: number;
  readonly saltLength: number;
  readonly keyLength: number;
}

/**
 * N = 2^15, r = 8, p = 1: 32 MiB and roughly 50-100 ms per hash on a current
 * core (the parameters OWASP's password storage guidance lists for scrypt),
 * with a 16-byte random salt and a 32-byte key.
 */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { logN: 15, r: 8, p: 1, saltLength: 16, keyLength: 32 };

// Bounds on parameters read back from a stored hash, so that a corrupt or
// planted hash cannot make a verification take unbounded memory or time.
const LIMITS = { logN: [10, 20], r: [1, 32], p: [1, 16], saltLength: [8, 64], keyLength: [16, 64] } as const;

/** Thrown when too many hashes are already queued: the caller should answer "try again in a moment". */
export class HasherBusyError extends Error {
  constructor() {
    super('too many password checks in progress');
    this.name = 'HasherBusyError';
  }
}

function deriveKey(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.logN;
  const options: ScryptOptions = {
    N,
    r: params.r,
    p: params.p,
    // Node's default maxmem (32 MiB) is just below what N=2^15, r=8 needs.
    maxmem: 256 * N * params.r + 1024 * 1024,
  };
  return new Promise((resolve, reject) =>
    scrypt(normalizePassword(password), salt, params.keyLength, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Unpadded standard base64, as the PHC string format writes salts and hashes. */
const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
const B64 = /^[A-Za-z0-9+/]+$/;

interface ParsedHash {
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly key: Buffer;
}

/**
 * Reads `$scrypt$ln=15,r=8,p=1$<salt>$<key>` (the PHC string format), or
 * returns null when `encoded` is not such a hash within sane bounds.
 */
function parseHash(encoded: string): ParsedHash | null {
  const match = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([^$]{1,128})\$([^$]{1,128})$/.exec(encoded);
  if (!match) return null;
  const [, logN, r, p, salt64, key64] = match;
  if (!B64.test(salt64!) || !B64.test(key64!)) return null;
  const salt = Buffer.from(salt64!, 'base64');
  const key = Buffer.from(key64!, 'base64');
  const params: ScryptParams = { logN: Number(logN), r: Number(r), p: Number(p), saltLength: salt.length, keyLength: key.length };
  for (const [name, [min, max]] of Object.entries(LIMITS)) {
    const value = params[name as keyof ScryptParams];
    if (value < min || value > max) return null;
  }
  return { params, salt, key };
}

export interface PasswordHasherOptions {
  /** Hashes computed at once (each holds about 128 * N * r bytes on libuv's thread pool); default 2. */
  readonly maxConcurrent?: number;
  /** Hashes waiting beyond those; more are refused with HasherBusyError. Default 64. */
  readonly maxQueued?: number;
}

/**
 * Hashes and checks passwords with node:crypto's scrypt, off the event loop
 * (libuv's thread pool). A hash is self-describing (`$scrypt$ln=..,r=..,p=..$salt$key`),
 * so the parameters can be raised later: old hashes still verify and
 * `needsRehash` says when to store a new one.
 */
export class PasswordHasher {
  readonly #params: ScryptParams;
  readonly #maxConcurrent: number;
  readonly #maxQueued: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(params: ScryptParams = DEFAULT_SCRYPT_PARAMS, options: PasswordHasherOptions = {}) {
    this.#params = params;
    this.#maxConcurrent = options.maxConcurrent ?? 2;
    this.#maxQueued = options.maxQueued ?? 64;
  }

  /** A new hash of `password` with a fresh random salt. Rejects with HasherBusyError when the queue is full. */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(this.#params.saltLength);
    const key = await this.#limited(() => deriveKey(password, salt, this.#params));
    const { logN, r, p } = this.#params;
    return `$scrypt$ln=${logN},r=${r},p=${p}$${b64(salt)}$${b64(key)}`;
  }

  /**
   * Whether `password` matches `encoded`, compared in constant time. A
   * malformed hash never matches (and costs a hash all the same). Rejects with
   * HasherBusyError when the queue is full.
   */
  async verify(password: string, encoded: string): Promise<boolean> {
    const parsed = parseHash(encoded);
    if (!parsed) {
      await this.hash(password);
      return false;
    }
    const key = await this.#limited(() => deriveKey(password, parsed.salt, parsed.params));
    return timingSafeEqual(key, parsed.key);
  }

  /** Whether `encoded` was made with other parameters than this hasher's (store a new hash at the next sign-in). */
  needsRehash(encoded: string): boolean {
    const parsed = parseHash(encoded);
    if (!parsed) return true;
    const now = this.#params;
    const was = parsed.params;
    return (
      was.logN !== now.logN || was.r !== now.r || was.p !== now.p || was.saltLength !== now.saltLength || was.keyLength !== now.keyLength
    );
  }

  async #limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#maxConcurrent) {
      if (this.#waiting.length >= this.#maxQueued) throw new HasherBusyError();
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next waiter, or give it back.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
