import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * The two short-lived secrets of files, keyed with keys derived from
 * AUTH_SECRET for these purposes only (a session token never passes for
 * either, nor one for the other):
 *
 * - signed URLs: `/files/<id>?e=<expiry ms>&s=<mac>` (or `/files/<id>/thumbnail?...`).
 *   A message, a history page or a resume replay carries links signed when it
 *   is sent, valid for FILE_URL_TTL_SECONDS: anyone who was given the message
 *   may open them (an <img> tag cannot send a header), and they stop working
 *   soon after; a client that wants them later asks history again.
 * - upload tickets: `f1.<client id>.<expiry ms>.<mac>`, in the welcome frame.
 *   They authenticate `POST /files` (and downloads with a header) for the
 *   client the connection belongs to, guests included, and only while that
 *   client is connected (checked on use): a ticket does not outlive its session.
 */
export class FileLinks {
  readonly #urlKey: Buffer;
  readonly #ticketKey: Buffer;
  readonly #urlTtlMs: number;
  readonly #ticketTtlMs: number;

  constructor(secret: string, options: { urlTtlMs: number; ticketTtlMs: number }) {
    this.#urlKey = Buffer.from(hkdfSync('sha256', secret, 'chorus', 'chorus file url v1', 32));
    this.#ticketKey = Buffer.from(hkdfSync('sha256', secret, 'chorus', 'chorus upload ticket v1', 32));
    this.#urlTtlMs = options.urlTtlMs;
    this.#ticketTtlMs = options.ticketTtlMs;
  }

  /** A signed path to the file (`thumbnail`: to its thumbnail), valid until now + the URL TTL. */
  url(id: string, now: number, thumbnail = false): string {
    const path = thumbnail ? `/files/${id}/thumbnail` : `/files/${id}`;
    const expires = now + this.#urlTtlMs;
    return `${path}?e=${expires}&s=${mac(this.#urlKey, `${path}|${expires}`)}`;
  }

  /** Whether `e` and `s` sign `path` and have not expired at `now`. */
  urlValid(path: string, e: string | undefined, s: string | undefined, now: number): boolean {
    if (e === undefined || s === undefined || !/^\d{1,16}$/.test(e) || Number(e) < now) return false;
    return same(s, mac(this.#urlKey, `${path}|${e}`));
  }

  ticket(clientId: string, now: number): { ticket: string; expiresAt: number } {
    const expiresAt = now + this.#ticketTtlMs;
    const body = `f1.${clientId}.${expiresAt}`;
    return { ticket: `${body}.${mac(this.#ticketKey, body)}`, expiresAt };
  }

  /** The client id of a valid, unexpired ticket, or undefined. */
  openTicket(ticket: string, now: number): string | undefined {
    if (ticket.length > 200) return undefined;
    // A client id has no dot-free guarantee (`.` is allowed): the expiry and mac are the last two parts.
    const match = /^f1\.(.+)\.(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(ticket);
    if (!match) return undefined;
    const [, clientId, expiry, signature] = match;
    if (Number(expiry) < now || !same(signature!, mac(this.#ticketKey, `f1.${clientId}.${expiry}`))) return undefined;
    return clientId;
  }
}

function mac(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(body).digest('base64url');
}

/** Constant-time comparison of two base64url MACs. */
function same(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
