/**
 * The browser client's display-name table (state/display-names.svelte.ts):
 * names read in one turn are asked for in one lookup, each id once; an id
 * without a display name shows as itself; a failed lookup changes nothing;
 * refresh asks again for those already shown.
 */
import t from 'tap';
import { DisplayNames } from './fixtures/load-state.js';

/** A lookup that records what it was asked and answers from `known` (or fails while `failing`). */
function fakeLookup(known: Record<string, string>) {
  const asked: string[][] = [];
  const control = { failing: false };
  const lookup = async (ids: readonly string[]) => {
    asked.push([...ids]);
    if (control.failing) return null;
    return Object.fromEntries(ids.filter((id) => id in known).map((id) => [id, known[id]!]));
  };
  return { asked, control, lookup };
}

/** Lets the queued microtask and the lookup's promise settle. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

t.test('names read in one turn are one lookup; ids without a name show as themselves', async (t) => {
  const known: Record<string, string> = { ana: 'Ana María', dmitri: 'Дмитрий' };
  const { asked, lookup } = fakeLookup(known);
  const names = new DisplayNames();
  names.useLookup(lookup);
  t.same([names.of('ana'), names.of('dmitri'), names.of('bob'), names.of('ana')], ['ana', 'dmitri', 'bob', 'ana'], 'ids until the answer');
  await settle();
  t.same(asked, [['ana', 'dmitri', 'bob']], 'one lookup, each id once');
  t.same([names.of('ana'), names.of('dmitri'), names.of('bob')], ['Ana María', 'Дмитрий', 'bob']);
  t.equal(names.chosen('bob'), undefined);
  await settle();
  t.equal(asked.length, 1, 'known and name-less ids are not asked again');

  known.ana = 'Анна';
  names.refresh(['ana', 'zoe']);
  await settle();
  t.same(asked[1], ['ana'], 'refresh asks again only for ids shown before');
  t.equal(names.of('ana'), 'Анна');
  delete known.ana;
  names.refresh(['ana']);
  await settle();
  t.equal(names.of('ana'), 'ana', 'a name cleared on the server shows the id again');
});

t.test('a failed lookup keeps what is shown; names read before a lookup exists are asked once it does', async (t) => {
  const { asked, control, lookup } = fakeLookup({ ana: 'Ana María' });
  const names = new DisplayNames();
  t.equal(names.of('ana'), 'ana', 'no lookup yet');
  names.useLookup(lookup);
  await settle();
  t.same(asked, [['ana']]);
  t.equal(names.of('ana'), 'Ana María');
  control.failing = true;
  names.refresh(['ana']);
  await settle();
  t.equal(names.of('ana'), 'Ana María', 'a failure keeps the known name');
  names.set('me', 'Me Myself');
  t.equal(names.of('me'), 'Me Myself', 'a name known first-hand needs no lookup');
  await settle();
  t.equal(asked.length, 2);
});

t.test('more than 200 ids are split into lookups of 200', async (t) => {
  const { asked, lookup } = fakeLookup({});
  const names = new DisplayNames();
  names.useLookup(lookup);
  for (let i = 0; i < 450; i++) names.of(`u${i}`);
  await settle();
  t.same(
    asked.map((ids) => ids.length),
    [200, 200, 50],
  );
});
