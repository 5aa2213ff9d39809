import type { Readable } from 'node:stream';
import sharp from 'sharp';

/** Longest side of a thumbnail, in pixels. */
export const THUMBNAIL_SIZE = 320;

export type ImageProbe =
  | { readonly ok: true; readonly width: number; readonly height: number }
  | { readonly ok: false; readonly reason: 'too-many-pixels'; readonly width: number; readonly height: number }
  | { readonly ok: false; readonly reason: 'unreadable' };

/**
 * An image's size in pixels from its header (sharp reads the header only, so
 * a decompression bomb costs nothing here), refused above `maxPixels`.
 */
export async function probeImage(source: Readable, maxPixels: number): Promise<ImageProbe> {
  try {
    // The header only, without sharp's own limit, so that a refusal can say how big the image claims to be.
    const image = sharp({ limitInputPixels: false, failOn: 'none' });
    source.pipe(image);
    const { width, height, autoOrient } = await image.metadata();
    source.destroy();
    // The size a person sees (EXIF orientation applied), as the thumbnail is.
    const w = autoOrient?.width ?? width;
    const h = autoOrient?.height ?? height;
    if (!w || !h) return { ok: false, reason: 'unreadable' };
    if (w * h > maxPixels) return { ok: false, reason: 'too-many-pixels', width: w, height: h };
    return { ok: true, width: w, height: h };
  } catch {
    source.destroy();
    return { ok: false, reason: 'unreadable' };
  }
}

/**
 * A WebP thumbnail of at most THUMBNAIL_SIZE on its longer side, as a stream.
 * limitInputPixels makes sharp refuse (an error on the stream) any image over
 * the limit before it decodes it; the first frame only for animations.
 */
export function thumbnailStream(source: Readable, maxPixels: number): Readable {
  const transform = sharp({ limitInputPixels: maxPixels, failOn: 'error' })
    .autoOrient()
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 75 });
  source.on('error', (err) => transform.destroy(err));
  return source.pipe(transform);
}
