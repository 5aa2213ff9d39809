/** A piece of a message's text: plain text, or a web link to show as one. */
export type TextPart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'link'; readonly text: string; readonly href: string };

/** Candidates: an explicit http:// or https:// up to the next space or character that never ends a URL in prose. */
const CANDIDATE = /\bhttps?:\/\/[^\s<>"'`]+/giu;
/** Punctuation that ends a sentence more often than a URL: left out of the link when it is last. */
const TRAILING = /[.,;:!?…]+$/u;

/**
 * Splits message text into plain text and links. Only http and https links
 * are made: `javascript:`, `data:` and every other scheme stay text, and so
 * does anything the URL parser refuses. A closing bracket at the end belongs
 * to the link only if the link opened one ("…/Foo_(bar)"); otherwise it closes
 * the sentence's parenthesis. The parts joined give back the text exactly;
 * the caller renders them as text and `<a>` elements, never as HTML.
 */
export function linkify(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let at = 0;
  for (const match of text.matchAll(CANDIDATE)) {
    const candidate = trimEnd(match[0]);
    const href = httpHref(candidate);
    if (href === null) continue;
    const start = match.index;
    if (start > at) parts.push({ kind: 'text', text: text.slice(at, start) });
    parts.push({ kind: 'link', text: candidate, href });
    at = start + candidate.length;
  }
  if (at < text.length) parts.push({ kind: 'text', text: text.slice(at) });
  return parts;
}

function trimEnd(url: string): string {
  let out = url;
  for (;;) {
    const before = out;
    out = out.replace(TRAILING, '');
    for (const [open, close] of [
      ['(', ')'],
      ['[', ']'],
    ] as const) {
      if (out.endsWith(close) && count(out, close) > count(out, open)) out = out.slice(0, -1);
    }
    if (out === before) return out;
  }
}

function count(text: string, c: string): number {
  let n = 0;
  for (const ch of text) if (ch === c) n++;
  return n;
}

/** The link's address if it is a valid http(s) URL with a host; else null. */
function httpHref(candidate: string): string | null {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return null;
  return url.href;
}
