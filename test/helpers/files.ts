import { crc32 } from 'node:zlib';
import type { TestClient } from './ws-client.js';

/** The http(s) base of a server whose WebSocket base is `ws://...`. */
export function httpBase(wsBase: string): string {
  return wsBase.replace(/^ws/, 'http');
}

/** The upload ticket of a connected chorus.v1 client (from its welcome, the first frame it got). */
export function ticketOf(client: TestClient): string {
  const welcome = JSON.parse(client.frames[0]!) as { type: string; uploads?: { ticket: string } };
  if (welcome.type !== 'welcome' || !welcome.uploads) throw new Error('the first frame is not a welcome with uploads');
  return welcome.uploads.ticket;
}

/** POST /files with one file; the raw Response. */
export function upload(base: string, file: { data: Uint8Array; name: string; type?: string }, auth?: string): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(file.data)], { type: file.type ?? 'application/octet-stream' }), file.name);
  return fetch(`${httpBase(base)}/files`, { method: 'POST', body: form, headers: auth ? { authorization: `Bearer ${auth}` } : {} });
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A PNG of a few hundred bytes that declares `width` x `height` pixels: a
 * decompression bomb's header (decoding it would need width*height*3 bytes).
 */
export function bombPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.from([0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01])),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
