import { fileTypeFromBuffer } from 'file-type';

/** Bytes of a file's start that type detection reads (file-type needs at most this many). */
export const SNIFF_BYTES = 4100;

/** Images the browser shows inline and sharp reads for a thumbnail. SVG is not one: it can carry script. */
export const RASTER_IMAGES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif']);

/**
 * The type of a file from its first bytes, never from the name or the
 * client's Content-Type: `application/octet-stream` when the bytes say
 * nothing (text, HTML, SVG and other markup included, so none of them is ever
 * served as something a browser renders).
 */
export async function detectType(head: Uint8Array): Promise<string> {
  const found = await fileTypeFromBuffer(head);
  return found?.mime ?? 'application/octet-stream';
}

/** Whether a type is shown in the page (raster images, audio, video) rather than downloaded. */
export function servedInline(type: string): boolean {
  return RASTER_IMAGES.has(type) || /^(audio|video)\/[a-z0-9.+-]+$/.test(type);
}
