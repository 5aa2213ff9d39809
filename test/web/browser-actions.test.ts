/**
 * Message actions in the browser client: edit, delete, react and reply between
 * two people (one of them on a phone-sized page), against the real server
 * (two workers) and client app, in headless Chromium.
 */
import t from 'tap';
import { messagesWithText, newPhoneProfile, openPage, openTab, requireChromium, send, shot, startRig } from './fixtures/browser.js';

if (requireChromium(t)) {
  t.test('edit, delete, react and reply, seen live by the other person', async (t) => {
    const { browser, base } = await startRig(t);
    const alice = await openTab(browser, `${base}/alice`);
    const bob = await openPage(await (await newPhoneProfile(browser)).newPage(), `${base}/bob`);
    const original = 'Lunch at noon?';
    await send(alice.page, original);
    await messagesWithText(bob.page, original).waitFor();

    await t.test('a reaction from the menu: a chip with its count, and who on hover', async (t) => {
      const onBob = messagesWithText(bob.page, original);
      await onBob.getByTestId('message-menu').click();
      await onBob.getByTestId('react-👍').click();
      const chip = messagesWithText(alice.page, original).locator('[data-testid="reaction"][data-emoji="👍"]');
      await chip.waitFor();
      t.equal((await chip.textContent())?.trim(), '👍 1');
      t.equal(await chip.getAttribute('title'), '👍 bob', 'who reacted, on hover');
      // Alice adds hers by clicking the chip: two.
      await chip.click();
      await messagesWithText(bob.page, original).locator('[data-testid="reaction"][data-emoji="👍"]').getByText('2').waitFor();
      t.pass('bob sees 👍 2');
    });

    const edited = 'Lunch at half past twelve?';
    await t.test('edit inline: the other sees the new text and "edited"', async (t) => {
      const mine = messagesWithText(alice.page, original);
      await mine.getByTestId('message-menu').click();
      await mine.getByTestId('edit').click();
      const input = alice.page.getByTestId('edit-input');
      await input.fill(edited);
      await input.press('Enter');
      const onBob = messagesWithText(bob.page, edited);
      await onBob.getByTestId('edited').waitFor();
      t.equal(await onBob.getAttribute('data-edited'), 'true');
      t.equal(await messagesWithText(bob.page, original).count(), 0, 'the old text is gone');
    });

    await t.test('reply: the reply quotes what it answers; a click on the quote scrolls to it', async (t) => {
      const target = messagesWithText(bob.page, edited);
      await target.getByTestId('message-menu').click();
      await target.getByTestId('reply').click();
      await bob.page.getByTestId('replying-to').waitFor();
      await send(bob.page, 'Works for me');
      const reply = messagesWithText(alice.page, 'Works for me');
      const quote = reply.getByTestId('reply-quote');
      await quote.waitFor();
      t.match(await quote.textContent(), /bob|alice/);
      t.match(await quote.textContent(), /half past twelve/, 'the quote shows the answered text');
      await quote.click();
      await alice.page.locator('[data-testid="message"].flash').waitFor();
      t.pass('the answered message is scrolled to and flashed');
      t.equal(await bob.page.getByTestId('replying-to').count(), 0, 'the reply banner went with the send');
    });

    await t.test('delete asks first; the other sees "message deleted"', async (t) => {
      const mine = messagesWithText(alice.page, edited);
      await mine.getByTestId('message-menu').click();
      await mine.getByTestId('delete').click();
      await alice.page.getByTestId('confirm-delete').click();
      await bob.page.locator('[data-testid="message"][data-deleted="true"]').getByTestId('message-deleted').waitFor();
      t.equal(await messagesWithText(bob.page, edited).count(), 0, 'the text is gone on the other side');
      await messagesWithText(bob.page, 'Works for me').getByTestId('reply-quote').getByText('message deleted').waitFor();
      t.pass('the quote of a deleted message says so');
      await shot(bob.page, 'actions-phone.png');
    });

    await t.test('after a reload, history brings the state back: edited, deleted, reactions, reply', async (t) => {
      await send(alice.page, 'Second thought');
      await messagesWithText(bob.page, 'Second thought').waitFor();
      const onBob = messagesWithText(bob.page, 'Second thought');
      await onBob.getByTestId('message-menu').click();
      await onBob.getByTestId('react-🎉').click();
      await messagesWithText(alice.page, 'Second thought').locator('[data-emoji="🎉"]').waitFor();
      await alice.page.reload();
      await messagesWithText(alice.page, 'Second thought').locator('[data-emoji="🎉"]').waitFor();
      await alice.page.locator('[data-testid="message"][data-deleted="true"]').waitFor();
      await messagesWithText(alice.page, 'Works for me').getByTestId('reply-quote').waitFor();
      t.pass('the reloaded page shows the reaction, the tombstone and the reply');
      await shot(alice.page, 'actions-desktop.png');
    });

    t.same([...alice.problems, ...bob.problems], [], 'no errors on either page');
  });
}
