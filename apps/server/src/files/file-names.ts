/** Longest name kept, in code points (file systems allow 255 bytes; a UI shows less). */
const MAX_NAME = 120;

/**
 * A name that is safe to store, show and send in a header: the last path
 * segment only (no `../`, no folders), no control or bidi-override characters,
 * none of `<>:"/\|?*` (which break file systems or markup when a page forgets
 * to escape), no leading dots (hidden files), at most MAX_NAME code points
 * (the extension kept). Pages still render it as text, never as HTML.
 */
export function sanitizeFileName(raw: string | undefined): string {
  let name = (raw ?? '').normalize('NFC');
  name = name.split(/[/\\]/).pop() ?? '';
  name = name
    .replace(/[\p{Cc}\p{Cf}<>:"|?*]/gu, '_')
    .replace(/\s+/g, ' ')
    .trim();
  name = name.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '');
  const points = [...name];
  if (points.length > MAX_NAME) {
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 && name.length - dot <= 10 ? name.slice(dot) : '';
    name = points.slice(0, MAX_NAME - [...ext].length).join('') + ext;
  }
  return name === '' ? 'file' : name;
}

/**
 * `Content-Disposition` for a sanitized name: `filename=` with an ASCII
 * fallback for old clients, and `filename*=UTF-8''...` (RFC 5987/6266) with
 * the real name percent-encoded.
 */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
