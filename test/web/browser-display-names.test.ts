/**
 * Display names in the browser, end to end (real server, real client app,
 * headless Chromium): chosen at sign-up, shown to a guest on messages, in the
 * online list, the conversation title and the direct list, in any script and
 * with dir=auto; changed from the account menu, with a refused name explained
 * at the field; a guest is shown by their id.
 */
import t from 'tap';
import {
  connState,
  messagesWithText,
  onlineEntry,
  openConversation,
  openTab,
  requireChromium,
  send,
  shot,
  startRig,
} from './fixtures/browser.js';

const PASSWORD = 'correct horse battery';

if (requireChromium(t)) {
  t.test('display names: set at sign-up, shown everywhere names are, changed from the menu', async (t) => {
    const { browser, base } = await startRig(t);
    const ana = await openTab(browser, `${base}/`);
    const bob = await openTab(browser, `${base}/bob`);
    await connState(bob.page, 'online').waitFor();

    await t.test('ana signs up with a display name with spaces and accents', async (t) => {
      await ana.page.getByTestId('auth-tab-sign-up').click();
      await ana.page.getByTestId('sign-up-username').fill('ana');
      await ana.page.getByTestId('sign-up-password').fill(PASSWORD);
      await ana.page.getByTestId('sign-up-display-name').fill('Ana \u200Bmaria');
      await ana.page.getByTestId('sign-up-submit').click();
      const error = ana.page.locator('[data-testid="auth-error"][data-field="displayName"]');
      t.equal(
        await error.textContent(),
        'That display name cannot be used: the name holds an invisible or control character (such as a direction mark or a zero-width space).',
        'an invisible character is explained at the field',
      );
      t.equal(await ana.page.getByTestId('sign-up-display-name').getAttribute('aria-invalid'), 'true');
      await shot(ana.page, 'browser-display-names-0-sign-up.png');
      t.match(await ana.page.getByTestId('sign-up-display-name').getAttribute('aria-describedby'), /sign-up-display-name-error/);
      await ana.page.getByTestId('sign-up-display-name').fill('  Ana   María ');
      await ana.page.getByTestId('sign-up-submit').click();
      await connState(ana.page, 'online').waitFor();
      t.equal(await ana.page.getByTestId('my-name').textContent(), 'Ana María', 'the header shows the display name, normalized');
      t.equal(await ana.page.getByTestId('my-id').textContent(), 'ana', 'and says which account it is');
    });

    await t.test('bob, a guest, sees her display name in the list, on her message, in the title', async (t) => {
      const entry = onlineEntry(bob.page, 'ana').getByTestId('online-name');
      await entry.filter({ hasText: 'Ana María' }).waitFor();
      t.equal(await entry.getAttribute('dir'), 'auto', 'a name in any direction is isolated');
      t.equal(await onlineEntry(ana.page, 'bob').getByTestId('online-name').textContent(), 'bob', 'a guest is shown by their id');
      await send(ana.page, 'hola a todos');
      const message = messagesWithText(bob.page, 'hola a todos');
      await message.waitFor();
      t.equal(await message.getByTestId('message-from').textContent(), 'Ana María');
      t.equal(await message.getByTestId('message-from').getAttribute('title'), 'ana', 'the id is one hover away');
      await onlineEntry(bob.page, 'ana').locator('button').click();
      await openConversation(bob.page, 'dm:ana,bob');
      t.equal(
        (await bob.page.getByTestId('conversation-title').textContent())?.trim(),
        'Ana María',
        'the private conversation is titled with it',
      );
      await send(bob.page, 'hola Ana');
      await openConversation(ana.page, 'dm:ana,bob');
      await messagesWithText(ana.page, 'hola Ana').waitFor();
      t.equal((await ana.page.getByTestId('conversation-title').textContent())?.trim(), 'bob', 'a guest titles it with their id');
      await openConversation(ana.page, 'everyone');
      await shot(bob.page, 'browser-display-names-1-guest-view.png');
    });

    await t.test('ana changes it from the menu; a bidi trick is refused at the field', async (t) => {
      await ana.page.getByTestId('account-menu-button').click();
      await ana.page.getByTestId('change-display-name').click();
      const input = ana.page.getByTestId('display-name-input');
      t.equal(await input.inputValue(), 'Ana María', 'the dialog starts from the name there is');
      await input.fill('ana\u202Egnp.exe');
      await ana.page.getByTestId('display-name-submit').click();
      t.match(
        await ana.page.getByTestId('display-name-error').textContent(),
        /^That name cannot be used: the name holds an invisible or control character/,
      );
      t.equal(await input.getAttribute('aria-invalid'), 'true');
      await input.fill('Анна Каренина');
      await ana.page.getByTestId('display-name-submit').click();
      await ana.page.getByTestId('display-name-dialog').waitFor({ state: 'hidden' });
      t.equal(await ana.page.getByTestId('my-name').textContent(), 'Анна Каренина', 'her header follows');
    });

    await t.test('a reload of bob shows the new name on her old message and in the list', async (t) => {
      await bob.page.reload();
      await connState(bob.page, 'online').waitFor();
      await onlineEntry(bob.page, 'ana').getByTestId('online-name').filter({ hasText: 'Анна Каренина' }).waitFor();
      await openConversation(bob.page, 'everyone');
      const message = messagesWithText(bob.page, 'hola a todos');
      await message.getByTestId('message-from').filter({ hasText: 'Анна Каренина' }).waitFor();
      t.pass('the name is looked up, not stored with the message');
      await shot(bob.page, 'browser-display-names-2-changed.png');
    });

    t.same([...ana.problems, ...bob.problems], [], 'no page errors, no protocol warnings, nothing refused by the CSP');
  });
}
