/**
 * Read ticks survive a reload and a later session (another browser profile,
 * another device): the counts come back with history and resume. The real
 * server (two workers) and client app, driven by headless Chromium.
 */
import t from 'tap';
import {
  connState,
  messagesWithText,
  newProfile,
  openPage,
  openTab,
  requireChromium,
  send,
  shot,
  startRig,
  tickOf,
} from './fixtures/browser.js';

if (requireChromium(t)) {
  t.test('"read by 1 of 1" stays two blue ticks after a reload and in a later session', async (t) => {
    const { browser, base } = await startRig(t);
    const aliceProfile = await newProfile(browser);
    t.teardown(() => aliceProfile.close());
    const alice = await openPage(await aliceProfile.newPage(), `${base}/alice`);
    const bob = await openTab(browser, `${base}/bob`);
    for (const tab of [alice, bob]) await connState(tab.page, 'online').waitFor();

    const text = 'lobby: will bob read this?';
    await send(alice.page, text);
    // bob has the lobby open: he reads it.
    await messagesWithText(bob.page, text).waitFor();
    const readByOne = () => messagesWithText(alice.page, text).getByTestId('tick-detail').getByText('read by 1 of 1', { exact: true });
    await tickOf(alice.page, text, 'read').waitFor();
    await readByOne().waitFor();
    t.pass('live: read by 1 of 1');

    await alice.page.reload();
    await connState(alice.page, 'online').waitFor();
    await tickOf(alice.page, text, 'read').waitFor();
    await readByOne().waitFor();
    t.pass('after a reload: still read by 1 of 1');
    await alice.page.close();

    // A later session elsewhere: nothing kept in this browser, everything from the server's history.
    const elsewhere = await openTab(browser, `${base}/alice`);
    await connState(elsewhere.page, 'online').waitFor();
    await tickOf(elsewhere.page, text, 'read').waitFor();
    await messagesWithText(elsewhere.page, text).getByTestId('tick-detail').getByText('read by 1 of 1', { exact: true }).waitFor();
    t.pass('in a later session on another device: read by 1 of 1, from history');
    await shot(elsewhere.page, 'browser-ticks-later-session.png');
    t.same([...alice.problems, ...bob.problems, ...elsewhere.problems], [], 'no client problems');
  });
}
