/**
 * The browser client with the client app alone (no chat server behind it):
 * what the page says while it cannot connect, and the sign-up and guest
 * forms' own checks (made before anything is sent), in headless Chromium.
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { PHONE, connState, newPhoneProfile, openPage, openTab, requireChromium, shot, startClientOnly } from './fixtures/browser.js';

/** How an input is described to assistive technology: its aria-invalid, and the texts aria-describedby names. */
function described(page: Page, selector: string): Promise<{ invalid: string | null; descriptions: string[] }> {
  return page.locator(selector).evaluate((input) => ({
    invalid: input.getAttribute('aria-invalid'),
    descriptions: (input.getAttribute('aria-describedby') ?? '')
      .split(/\s+/)
      .filter((id) => id !== '')
      .map((id) => document.getElementById(id)?.textContent?.trim() ?? `(no element #${id})`),
  }));
}

if (requireChromium(t)) {
  t.test('without a chat server the page says what is true: not connected, since when', async (t) => {
    const { browser, base } = await startClientOnly(t);
    const tab = await openTab(browser, `${base}/alice`);
    const { page } = tab;
    await connState(page, 'reconnecting').waitFor();
    const subtitle = page.getByTestId('conversation-subtitle');
    await subtitle.getByText(/^Not connected since \d/).waitFor();
    t.notMatch(await subtitle.textContent(), /Everyone online|person|people/, 'the lobby does not claim who is online');
    const empty = await page.getByTestId('empty-conversation').textContent();
    t.match(
      empty,
      /^Not connected since \d.*: the conversation shows once the connection is back\.$/,
      `the empty list says why: "${empty}"`,
    );
    t.notMatch(empty, /No messages yet|Say hello/, 'and does not claim the lobby is empty');
    t.match(await page.getByTestId('offline-since').textContent(), /^Not connected since \d/, 'the banner says since when');
    t.match(await page.getByTestId('error-banner').textContent(), /Cannot reach the chat server/, 'and why');
    await shot(page, 'browser-no-server.png');

    const phone = await openPage(await (await newPhoneProfile(browser)).newPage(), `${base}/bob`);
    await connState(phone.page, 'reconnecting').waitFor();
    await phone.page
      .getByTestId('conversation-subtitle')
      .getByText(/^Not connected since/)
      .waitFor();
    await shot(phone.page, 'browser-no-server-phone.png');
    t.same([...tab.problems, ...phone.problems], [], 'no page threw');
  });

  t.test('sign-up: a password problem is shown at the password field, which is marked; a name problem at the name', async (t) => {
    const { browser, base } = await startClientOnly(t);
    const tab = await openTab(browser, `${base}/`);
    const { page } = tab;
    await page.getByTestId('auth-tab-sign-up').click();
    await page.getByTestId('sign-up-username').fill('dave');
    await page.getByTestId('sign-up-password').fill('dave');
    await page.getByTestId('sign-up-submit').click();
    const error = page.getByTestId('auth-error');
    await error.getByText('The password must be at least 8 characters.').waitFor();
    const password = await described(page, '#sign-up-password');
    t.equal(password.invalid, 'true', 'the password field is marked invalid (aria-invalid)');
    t.ok(
      password.descriptions.includes('The password must be at least 8 characters.'),
      `and described by the problem (aria-describedby: ${JSON.stringify(password.descriptions)})`,
    );
    t.equal((await described(page, '#sign-up-username')).invalid, 'false', 'the username is not marked');
    const placement = await error.evaluate((element) => {
      const input = document.getElementById('sign-up-password')!;
      const profile = document.querySelector('[data-testid="profile-fields"]')!;
      return {
        afterPassword: Boolean(input.compareDocumentPosition(element) & Node.DOCUMENT_POSITION_FOLLOWING),
        beforeProfile: Boolean(element.compareDocumentPosition(profile) & Node.DOCUMENT_POSITION_FOLLOWING),
        inProfile: profile.contains(element),
      };
    });
    t.same(
      placement,
      { afterPassword: true, beforeProfile: true, inProfile: false },
      'shown right under the password, not under "About you"',
    );
    await shot(page, 'browser-sign-up-password-problem.png');

    await page.getByTestId('sign-up-password').fill('long enough password');
    t.equal(await error.count(), 0, 'typing clears it');
    t.equal((await described(page, '#sign-up-password')).invalid, 'false', 'and the mark');

    await page.getByTestId('sign-up-username').fill('Ana María');
    await page.getByTestId('sign-up-submit').click();
    await error.waitFor();
    const name = await described(page, '#sign-up-username');
    t.equal(name.invalid, 'true', 'a bad username marks the username field');
    t.match(
      name.descriptions[0],
      /^“Ana María” has a space and “í”, a letter outside A–Z\. A username can use the letters A–Z/,
      'in plain words',
    );
    t.notMatch(await error.textContent(), /client id/i, 'never "client id"');
    await shot(page, 'browser-sign-up-name-problem.png');
    t.same(tab.problems, [], 'no page threw');
  });

  t.test('joining as a guest: a name problem says what is wrong with the name and what is allowed', async (t) => {
    const { browser, base } = await startClientOnly(t);
    const tab = await openTab(browser, `${base}/`);
    const { page } = tab;
    await page.getByTestId('auth-tab-guest').click();
    await page.getByTestId('name-input').fill('Ana María');
    await page.getByTestId('join-button').click();
    const problem = page.getByTestId('name-problem');
    await problem.waitFor();
    t.match(
      await problem.textContent(),
      /^\s*“Ana María” has a space and “í”, a letter outside A–Z\. A name can use the letters A–Z \(upper or lower case\), digits and _ \. - @, up to 64 characters, with no spaces\.\s*$/,
    );
    t.notMatch(await problem.textContent(), /client id/i, 'never "client id"');
    t.equal(await page.getByTestId('name-input').getAttribute('aria-invalid'), 'true');
    await page.setViewportSize(PHONE);
    await shot(page, 'browser-guest-name-problem-phone.png');

    // The same words when the bad name comes in the URL.
    const fromUrl = await openTab(browser, `${base}/${encodeURIComponent('Дмитрий')}`);
    await fromUrl.page
      .getByTestId('name-problem')
      .getByText(/^“Дмитрий” has letters outside A–Z/)
      .waitFor();
    t.pass('a name in the URL is explained the same way');
    t.same([...tab.problems, ...fromUrl.problems], [], 'no page threw');
  });
}
