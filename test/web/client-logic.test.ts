/** The browser client's plain logic (no DOM, no Svelte): backoff, routes, ids, wording. */
import t from 'tap';
import { CloseCode, type ErrorFrame } from '@chorus/protocol';
import { Backoff } from '../../apps/web/src/lib/backoff.js';
import { socketUrl } from '../../apps/web/src/lib/env.js';
import { idFromPath, pathForId } from '../../apps/web/src/lib/route.js';
import { LOBBY, conversationIdOf } from '../../apps/web/src/lib/state/conversation-id.js';
import { explainClose, explainSendError } from '../../apps/web/src/lib/state/plain-words.js';

t.test('backoff: full jitter under an exponential ceiling, reset after a welcome', (t) => {
  const highest = new Backoff({ baseMs: 500, capMs: 15_000, random: () => 0.999999 });
  const ceilings = Array.from({ length: 8 }, () => highest.next() + 1);
  t.same(ceilings, [500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000], 'doubles up to the cap');
  highest.reset();
  t.equal(highest.next(), 499, 'starts over after reset');
  const lowest = new Backoff({ baseMs: 500, capMs: 15_000, random: () => 0 });
  t.equal(lowest.next(), 0, 'full jitter may retry at once');
  t.end();
});

t.test('routes: the id in the path', (t) => {
  t.equal(idFromPath('/'), null);
  t.equal(idFromPath('/alice'), 'alice');
  t.equal(idFromPath('/alice/'), 'alice');
  t.equal(idFromPath('/a%40b.c'), 'a@b.c');
  t.equal(idFromPath('/%E0%A4%A'), '%E0%A4%A', 'a malformed escape is kept for validation to explain');
  t.equal(idFromPath(pathForId('x y')), 'x y', 'pathForId is the inverse');
  t.equal(socketUrl('ws://h:1/', 'a@b'), 'ws://h:1/ws/a%40b');
  t.end();
});

t.test('conversation ids: the lobby, and one id per pair', (t) => {
  t.equal(conversationIdOf('alice', null), LOBBY);
  t.equal(conversationIdOf('alice', 'bob'), conversationIdOf('bob', 'alice'));
  t.not(conversationIdOf('alice', 'bob'), conversationIdOf('alice', 'carol'));
  t.end();
});

t.test('close reasons in plain words', (t) => {
  const base = { reason: '', error: null, clientId: 'alice', opened: true };
  const taken: ErrorFrame = {
    type: 'error',
    code: 'CLIENT_ID_TAKEN',
    message: 'this client id is already connected',
    retryable: false,
  };
  t.match(explainClose({ ...base, code: CloseCode.CLIENT_ID_TAKEN }), /already connected as “alice”/);
  t.match(explainClose({ ...base, code: 1006, error: taken }), /already connected/, 'the error frame explains the close');
  t.match(explainClose({ ...base, code: CloseCode.TRY_AGAIN_LATER }), /server is full/);
  t.match(explainClose({ ...base, code: CloseCode.GOING_AWAY }), /restarting/);
  t.match(explainClose({ ...base, code: 1006, opened: false }), /Cannot reach/);
  t.match(explainClose({ ...base, code: 1006 }), /lost/);
  const unknown: ErrorFrame = { type: 'error', code: 'UNKNOWN_RECIPIENT', message: 'x', retryable: true, ref: 'r' };
  t.equal(explainSendError(unknown, 'bob'), 'Not delivered: bob is not online.');
  t.end();
});
