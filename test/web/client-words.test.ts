/**
 * What the browser client says and shows, as pure functions: names in plain
 * words, links in message text, groups of messages, the truth while offline,
 * and which sign-up field an error belongs to.
 */
import t from 'tap';
import { CloseCode } from '@chorus/protocol';
import { fieldOfFailure } from '../../apps/web/src/lib/auth/auth-words.js';
import { formatClock } from '../../apps/web/src/lib/format-time.js';
import { linkify } from '../../apps/web/src/lib/linkify.js';
import { NAME_RULE, nameProblem } from '../../apps/web/src/lib/name-words.js';
import type { ChatMessage, ChatNote, TimelineItem } from '../../apps/web/src/lib/state/chat-message.js';
import { LOBBY } from '../../apps/web/src/lib/state/conversation-id.js';
import { continuations, GROUP_WINDOW_MS } from '../../apps/web/src/lib/state/message-groups.js';
import { notConnected } from '../../apps/web/src/lib/state/offline-words.js';
import { explainClose } from '../../apps/web/src/lib/state/plain-words.js';

t.test('names in plain words: what is wrong, then what is allowed; never "client id"', (t) => {
  t.equal(nameProblem('alice'), null);
  t.equal(nameProblem('a.b-c_d@e'), null);
  t.equal(nameProblem('Ana María'), `“Ana María” has a space and “í”, a letter outside A–Z. ${NAME_RULE}`);
  t.equal(nameProblem('Дмитрий'), `“Дмитрий” has letters outside A–Z (“Д” “м” “и” …). ${NAME_RULE}`);
  t.equal(nameProblem('bob,carol'), `“bob,carol” has a comma. ${NAME_RULE}`);
  t.equal(nameProblem('a/b#'), `“a/b#” has a slash and “#”. ${NAME_RULE}`);
  t.equal(nameProblem('x'.repeat(65)), `That name is 65 characters long. ${NAME_RULE}`);
  t.equal(nameProblem(''), 'Type a name first.');
  t.equal(nameProblem('', 'username'), 'Choose a username.');
  t.match(
    nameProblem('no spaces', 'username'),
    /^“no spaces” has a space\. A username can use the letters A–Z \(upper or lower case\), digits and _ \. - @, up to 64 characters, with no spaces\.$/,
  );
  for (const name of ['Ana María', 'Дмитрий', 'a,b', 'x'.repeat(65), 'João Silva'])
    t.notMatch(nameProblem(name), /client id/i, `${name}: no "client id"`);
  t.match(
    explainClose({ code: CloseCode.INVALID_CLIENT_ID, reason: 'invalid client id', error: null, clientId: 'João Silva', opened: true }),
    /^“João Silva” has a space and “ã”, a letter outside A–Z\./,
    'a name the server refused is explained the same way',
  );
  t.end();
});

t.test('links: http and https only, the text kept exactly, trailing punctuation left out', (t) => {
  const joined = (text: string) =>
    linkify(text)
      .map((p) => p.text)
      .join('');
  const links = (text: string) =>
    linkify(text)
      .filter((p) => p.kind === 'link')
      .map((p) => (p.kind === 'link' ? p.href : ''));
  t.same(linkify('no links here'), [{ kind: 'text', text: 'no links here' }]);
  t.same(linkify('see https://example.com/a?b=1#c.'), [
    { kind: 'text', text: 'see ' },
    { kind: 'link', text: 'https://example.com/a?b=1#c', href: 'https://example.com/a?b=1#c' },
    { kind: 'text', text: '.' },
  ]);
  t.same(
    links('(look at http://x.test/page) and https://en.wikipedia.org/wiki/Foo_(bar)!'),
    ['http://x.test/page', 'https://en.wikipedia.org/wiki/Foo_(bar)'],
    'a closing bracket belongs to the link only when the link opened one',
  );
  for (const text of [
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'data:text/html,<b>x</b>',
    'vbscript:x',
    'file:///etc/passwd',
    'ftp://x.test',
    'http://',
    'https:// spaced',
  ]) {
    t.same(links(text), [], `${text}: stays text`);
  }
  t.same(links('xhttps://glued.test'), [], 'only where a word starts');
  t.same(links('<a href="https://x.test">'), ['https://x.test/'], 'quotes and angle brackets end a link');
  const text = 'a https://a.test, b http://b.test/x; c\nhttps://c.test/?q=<1>';
  t.equal(joined(text), text, 'the parts add up to the text');
  t.end();
});

function message(key: string, from: string, serverAt: number): ChatMessage {
  return {
    kind: 'message',
    key,
    id: key,
    seq: null,
    ref: null,
    from,
    to: null,
    room: null,
    text: key,
    conversation: LOBBY,
    editedAt: null,
    deleted: false,
    reactions: [],
    replyTo: null,
    filler: false,
    sentAt: serverAt,
    serverAt,
    mine: from === 'alice',
    status: 'received',
    failure: null,
    recipients: null,
    delivered: 0,
    read: 0,
    seen: false,
  };
}

t.test('groups: one sender, back to back, within a few minutes; a note or another sender starts a new one', (t) => {
  const note: ChatNote = { kind: 'note', key: 'n', conversation: LOBBY, text: 'carol joined the chat', afterSeq: 0, serverAt: 4_000 };
  const items: TimelineItem[] = [
    message('b1', 'bob', 1_000),
    message('b2', 'bob', 2_000),
    message('b3', 'bob', 2_000 + GROUP_WINDOW_MS),
    message('a1', 'alice', 2_000 + GROUP_WINDOW_MS),
    message('a2', 'alice', 3_000 + GROUP_WINDOW_MS),
    note,
    message('a3', 'alice', 4_000 + GROUP_WINDOW_MS),
    message('a4', 'alice', 5_001 + 2 * GROUP_WINDOW_MS),
  ];
  t.same([...continuations(items)], ['b2', 'b3', 'a2'], 'b2, b3 continue bob’s group; a2 alice’s; a note and a long pause break them');
  t.same([...continuations([])], []);
  t.end();
});

t.test('while not connected: connecting at first, then "not connected since" when it was lost or never came', (t) => {
  const lost = new Date(2026, 0, 5, 14, 3, 27).getTime();
  t.equal(notConnected({ kind: 'online' }, null), null, 'online: nothing to say');
  t.same(notConnected({ kind: 'connecting', reason: null }, lost, lost + 100), { firstAttempt: true, text: 'Connecting…' });
  t.same(notConnected({ kind: 'reconnecting', retryAt: 0, reason: 'x' }, lost, lost + 60_000), {
    firstAttempt: false,
    text: `Not connected since ${formatClock(lost)}`,
  });
  t.match(
    notConnected({ kind: 'offline', reason: 'x', code: 1000 }, lost, lost + 3 * 86_400_000)?.text,
    /^Not connected since .*2026/,
    'another day: with the date',
  );
  t.end();
});

t.test('sign-up and sign-in refusals belong to a field', (t) => {
  t.equal(fieldOfFailure('WEAK_PASSWORD', 'sign-up'), 'password');
  t.equal(fieldOfFailure('USERNAME_TAKEN', 'sign-up'), 'username');
  t.equal(fieldOfFailure('INVALID_CLIENT_ID', 'sign-up'), 'username');
  t.equal(fieldOfFailure('AUTH_FAILED', 'sign-in'), 'password', 'never says which: shown where the person types next');
  t.equal(fieldOfFailure('NETWORK', 'sign-up'), null, 'about the attempt, not a field');
  t.equal(fieldOfFailure('TOO_MANY_ATTEMPTS', 'sign-in'), null);
  t.end();
});
