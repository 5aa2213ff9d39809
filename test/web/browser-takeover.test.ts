/**
 * A second tab with a guest name already in use (the real server, two
 * workers, and the real client app, in headless Chromium): it shows a screen
 * of its own with "use this tab instead"; taking over closes the first tab's
 * connection with 4410, and that tab says so and stays disconnected until the
 * person takes the name back.
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { connState, messagesWithText, newProfile, openPage, openTab, requireChromium, send, shot, startRig } from './fixtures/browser.js';

/** Counts the WebSockets `page` opens (a tab that must not reconnect by itself opens none). */
function countSockets(page: Page): { readonly opened: number } {
  const seen = { opened: 0 };
  page.on('websocket', () => seen.opened++);
  return seen;
}

const conflictScreen = (page: Page, conflict: 'taken' | 'replaced') =>
  page.locator(`[data-testid="name-in-use"][data-conflict="${conflict}"]`);

if (requireChromium(t)) {
  t.test('a name in use in another tab: "use this tab instead", and the replaced tab takes it back', async (t) => {
    const { browser, base } = await startRig(t);
    const bob = await openTab(browser, `${base}/bob`);
    await connState(bob.page, 'online').waitFor();
    // Two tabs of one browser profile, as a person opens them: they share the kept conversations.
    const profile = await newProfile(browser);
    t.teardown(() => profile.close());
    const first = await openPage(await profile.newPage(), `${base}/alice`);
    const firstSockets = countSockets(first.page);
    await connState(first.page, 'online').waitFor();
    await send(first.page, 'hello from the first tab');
    await messagesWithText(bob.page, 'hello from the first tab').waitFor();

    const second = await openPage(await profile.newPage(), `${base}/alice`);
    const secondSockets = countSockets(second.page);

    await t.test('the second tab shows that the name is in use, and offers to use this tab instead', async (t) => {
      const screen = conflictScreen(second.page, 'taken');
      await screen.waitFor();
      t.match(await screen.getByRole('heading').textContent(), /“alice” is open somewhere else/);
      t.equal(await second.page.getByTestId('conn-state').count(), 0, 'not the chat screen ("Offline · 0 people")');
      t.equal(await second.page.getByTestId('empty-conversation').count(), 0, 'nor "No messages yet"');
      await screen.getByTestId('use-this-tab').and(second.page.locator(':focus')).waitFor();
      t.pass('"Use this tab instead" has the focus');
      t.equal(await screen.getByTestId('choose-another-name').count(), 1, 'a guest may choose another name instead');
      await shot(second.page, 'browser-takeover-1-taken.png');
      t.equal(await connState(first.page, 'online').count(), 1, 'the first tab is untouched');
    });

    await t.test('using this tab: it connects, and the first tab says it was replaced and does not reconnect', async (t) => {
      await conflictScreen(second.page, 'taken').getByTestId('use-this-tab').click();
      await connState(second.page, 'online').waitFor();
      t.pass('the second tab is online as alice');
      await conflictScreen(first.page, 'replaced').waitFor();
      t.match(await conflictScreen(first.page, 'replaced').getByRole('heading').textContent(), /“alice” moved to another tab/);
      await shot(first.page, 'browser-takeover-2-replaced.png');
      await messagesWithText(second.page, 'hello from the first tab').waitFor();
      t.pass('the conversation is in the second tab');
      await send(second.page, 'hello from the second tab');
      await messagesWithText(bob.page, 'hello from the second tab').waitFor();
      t.pass('and its messages reach bob');
      await shot(second.page, 'browser-takeover-3-second-tab.png');
      t.equal(firstSockets.opened, 1, 'the replaced tab opened no new connection by itself');
      t.equal(await conflictScreen(first.page, 'replaced').count(), 1, 'and still says it was replaced');
    });

    await t.test('the replaced tab takes the name back', async (t) => {
      await conflictScreen(first.page, 'replaced').getByTestId('use-this-tab').click();
      await connState(first.page, 'online').waitFor();
      await conflictScreen(second.page, 'replaced').waitFor();
      t.pass('the first tab is back online; the second one now says it was replaced');
      await send(first.page, 'the first tab again');
      await messagesWithText(bob.page, 'the first tab again').waitFor();
      t.equal(secondSockets.opened, 2, 'the second tab did not reconnect by itself either');
    });

    t.same([...first.problems, ...second.problems, ...bob.problems], [], 'no page threw, and every server frame matched the protocol');
  });
}
