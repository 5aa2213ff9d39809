import { CLIENT_ID_PATTERN } from '@chorus/protocol';

/** The most characters a name may have (the protocol's client id limit). */
export const NAME_MAX = 64;

/** What a name may be made of, said the way the join and sign-up forms say it. */
export const NAME_RULE = `A name can use the letters A–Z (upper or lower case), digits and _ . - @, up to ${NAME_MAX} characters, with no spaces.`;

const ALLOWED_CHARACTER = /^[A-Za-z0-9_.@-]$/;
const LETTER = /^\p{L}$/u;

/**
 * Why `name` cannot be a person's name in the chat (a guest's or an
 * account's: both are the id in the URL), in plain words: what is wrong with
 * it, then what is allowed. Null when it can be used. Speaks of the name the
 * person typed, never of a "client id".
 */
export function nameProblem(name: string, word: 'name' | 'username' = 'name'): string | null {
  if (name.length === 0) return word === 'name' ? 'Type a name first.' : 'Choose a username.';
  if (CLIENT_ID_PATTERN.test(name)) return null;
  const length = [...name].length;
  if (length > NAME_MAX) return `That ${word} is ${length} characters long. ${rule(word)}`;
  return `“${name}” ${whatIsWrong(name)}. ${rule(word)}`;
}

function rule(word: 'name' | 'username'): string {
  return word === 'name' ? NAME_RULE : NAME_RULE.replace('A name', 'A username');
}

/** "has a space", "has “é”, a letter outside A–Z", "has a comma and “#”". */
function whatIsWrong(name: string): string {
  const spaces = [...name].filter((c) => /^\s$/u.test(c)).length;
  const letters = new Set<string>();
  const others = new Set<string>();
  for (const c of name) {
    if (ALLOWED_CHARACTER.test(c) || /^\s$/u.test(c)) continue;
    (LETTER.test(c) ? letters : others).add(c);
  }
  const parts: string[] = [];
  if (spaces > 0) parts.push(spaces === 1 ? 'a space' : 'spaces');
  if (letters.size > 0) {
    const shown = [...letters].slice(0, 3).map(quote).join(' ');
    parts.push(letters.size === 1 ? `${shown}, a letter outside A–Z` : `letters outside A–Z (${shown}${letters.size > 3 ? ' …' : ''})`);
  }
  for (const c of [...others].slice(0, 3)) parts.push(c === ',' ? 'a comma' : c === '/' ? 'a slash' : quote(c));
  return `has ${joinWords(parts)}`;
}

function quote(c: string): string {
  return `“${c}”`;
}

function joinWords(parts: readonly string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}
