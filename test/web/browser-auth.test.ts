/**
 * Accounts in the browser client, end to end: the real server (two workers,
 * AUTH_MODE=open) and the real client app, driven by headless Chromium. Sign
 * up, a reload, two tabs of one account, sign out (the other tab is closed
 * with 4401), a guest on a registered name, a wrong password, a guest, a
 * password change, and hostile text in a profile, a message and a room name.
 */
import t from 'tap';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  DESKTOP,
  PHONE,
  XSS,
  connState,
  messagesWithText,
  newProfile,
  onlineEntry,
  openPage,
  openTab,
  requireChromium,
  send,
  shot,
  startRig,
  type Tab,
} from './fixtures/browser.js';

/** Fits the 32 characters a gender may have. */
const SHORT_XSS = '<img src=x onerror=__xss=2>';

type Recorded = Window & { __closes: number[]; __xss?: unknown };

/** Records the close code of every WebSocket the pages of `context` open (window.__closes). */
async function recordCloses(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const w = window as unknown as Recorded;
    const Native = window.WebSocket;
    w.__closes = [];
    window.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        this.addEventListener('close', (event) => w.__closes.push(event.code));
      }
    };
  });
}

/** A new browser profile whose WebSocket close codes are recorded. */
async function recordedProfile(browser: Browser): Promise<BrowserContext> {
  const context = await newProfile(browser);
  await recordCloses(context);
  return context;
}

const accountDatabases = (page: Page) =>
  page.evaluate(async () => (await indexedDB.databases()).map((db) => db.name).filter((name) => name?.startsWith('chorus:account:')));

const storedSessions = (page: Page) => page.evaluate(() => localStorage.getItem('chorus:sessions'));

const noXss = (page: Page) => page.evaluate(() => (window as unknown as Recorded).__xss);

async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByTestId('auth-tab-sign-in').click();
  await page.getByTestId('sign-in-username').fill(username);
  await page.getByTestId('sign-in-password').fill(password);
  await page.getByTestId('sign-in-submit').click();
}

if (requireChromium(t)) {
  t.test('accounts in the browser: sign up, reload, two tabs, sign out, guests, wrong password', async (t) => {
    // A logout is answered by one worker; connections of that session on the other worker are
    // closed at its next periodic session check, every HEARTBEAT_INTERVAL_MS (30 s by default).
    const { browser, base } = await startRig(t, { HEARTBEAT_INTERVAL_MS: '1000' });
    const password = 'correct horse battery';

    const daveProfile = await recordedProfile(browser);
    const tab1 = await openPage(await daveProfile.newPage(), `${base}/`);
    const alice = await openTab(browser, `${base}/alice`);
    const tabs: Tab[] = [tab1, alice];
    let tab2!: Tab;

    await t.test('dave signs up on /, with a profile; the profile is shown as text', async (t) => {
      await tab1.page.getByTestId('auth-screen').waitFor();
      t.equal(await tab1.page.getByTestId('auth-tab-sign-in').getAttribute('aria-selected'), 'true', 'the sign-in tab shows first');
      await shot(tab1.page, 'browser-auth-1-sign-in.png');
      await tab1.page.getByTestId('auth-tab-sign-up').click();
      await tab1.page.getByTestId('sign-up-username').fill('dave');
      await tab1.page.getByTestId('sign-up-password').fill('dave');
      await tab1.page.getByTestId('sign-up-submit').click();
      t.equal(
        await tab1.page.getByTestId('auth-error').textContent(),
        'The password must be at least 8 characters.',
        'a weak password is explained',
      );
      await tab1.page.getByTestId('sign-up-password').fill(password);
      await tab1.page.getByTestId('profile-fields').locator('summary').click();
      await tab1.page.getByTestId('sign-up-first-names').fill(XSS);
      await tab1.page.getByTestId('sign-up-last-names').fill('Dent');
      await tab1.page.getByTestId('sign-up-age').fill('34');
      await tab1.page.getByTestId('sign-up-gender').fill(SHORT_XSS);
      await shot(tab1.page, 'browser-auth-2-sign-up.png');
      await tab1.page.getByTestId('sign-up-submit').click();
      await connState(tab1.page, 'online').waitFor();
      t.equal(new URL(tab1.page.url()).pathname, '/dave', 'the URL names dave');
      t.equal(await tab1.page.getByTestId('my-id').textContent(), 'dave');
      t.equal(await tab1.page.getByTestId('guest-badge').count(), 0, 'not a guest');

      await tab1.page.getByTestId('account-menu-button').click();
      await tab1.page.getByTestId('account-menu').waitFor();
      t.equal(await tab1.page.getByTestId('profile-name').textContent(), `${XSS} Dent`, 'the names, literally');
      t.equal(await tab1.page.getByTestId('profile-details').textContent(), `34 · ${SHORT_XSS}`, 'age and gender, literally');
      t.equal(await tab1.page.locator('header img').count(), 0, 'no <img> was created');
      t.equal(await noXss(tab1.page), undefined, 'window.__xss is undefined');
      await shot(tab1.page, 'browser-auth-3-account-menu.png');
      await tab1.page.keyboard.press('Escape');
      await tab1.page.getByTestId('account-menu').waitFor({ state: 'detached' });
      t.pass('Escape closes the menu');

      await tab1.page.getByTestId('account-menu-button').click();
      await tab1.page.getByTestId('sign-out').click();
      await tab1.page.getByTestId('auth-screen').waitFor();
      t.pass('signing out shows the sign-in screen');
      await signIn(tab1.page, 'dave', password);
      await connState(tab1.page, 'online').waitFor();
      t.pass('and dave signs in again');
    });

    await t.test('a reload keeps dave signed in (the token is kept, never in the URL)', async (t) => {
      await tab1.page.reload();
      await connState(tab1.page, 'online').waitFor();
      t.equal(await tab1.page.getByTestId('my-id').textContent(), 'dave');
      await tab1.page.getByTestId('account-menu-button').waitFor();
      t.pass('still signed in as dave');
      t.equal(new URL(tab1.page.url()).pathname, '/dave');
      t.match(await storedSessions(tab1.page), /"dave"/, 'the token is in localStorage');
      t.same(await accountDatabases(tab1.page), ['chorus:account:dave'], 'the account has its own local store');
      await tab1.page.goto(`${base}/`);
      await connState(tab1.page, 'online').waitFor();
      t.equal(new URL(tab1.page.url()).pathname, '/dave', '/ continues as the signed-in user');
    });

    await t.test('two tabs of dave: both online, messages reach both, own sends show once in the other', async (t) => {
      tab2 = await openPage(await daveProfile.newPage(), `${base}/dave`);
      tabs.push(tab2);
      await connState(tab2.page, 'online').waitFor();
      t.equal(await tab2.page.getByTestId('my-id').textContent(), 'dave', 'the second tab is dave too');
      await connState(alice.page, 'online').waitFor();
      await onlineEntry(alice.page, 'dave').waitFor();
      t.equal(await onlineEntry(alice.page, 'dave').count(), 1, 'alice sees dave online once');

      const hello = 'hello dave, in every tab';
      await send(alice.page, hello);
      for (const tab of [tab1, tab2]) await messagesWithText(tab.page, hello).waitFor();
      t.pass("alice's message reaches both tabs");

      const mine = 'from dave, tab 1';
      await send(tab1.page, mine);
      const inTab2 = messagesWithText(tab2.page, mine);
      await inTab2.waitFor();
      await messagesWithText(alice.page, mine).waitFor();
      t.equal(await inTab2.count(), 1, 'tab 2 shows it once');
      t.equal(await inTab2.getAttribute('data-status'), 'sent', 'as mine, sent');
      t.equal(await messagesWithText(tab1.page, mine).count(), 1, 'tab 1 once');
      t.equal(await messagesWithText(alice.page, mine).count(), 1, 'alice once');

      await send(tab2.page, XSS);
      for (const tab of [tab1, alice]) {
        await messagesWithText(tab.page, XSS).waitFor();
        t.equal(await tab.page.locator('[data-testid="message-list"] img').count(), 0, 'a message: no <img>');
      }
      await shot(tab2.page, 'browser-auth-4-second-tab.png');
    });

    await t.test('signing out in tab 1: the sign-in screen; tab 2 is closed with 4401 and says signed out', async (t) => {
      // Tab 2 opened last, in the same window: bring tab 1 forward (a background tab gets no animation frames).
      await tab1.page.bringToFront();
      await tab1.page.getByTestId('account-menu-button').click();
      await tab1.page.getByTestId('sign-out').click();
      await tab1.page.getByTestId('auth-screen').waitFor();
      t.equal(new URL(tab1.page.url()).pathname, '/', 'back on /');
      t.equal(await tab1.page.getByTestId('auth-notice').textContent(), 'You signed out. Sign in again whenever you like.');
      t.equal(await tab1.page.getByTestId('sign-in-username').inputValue(), 'dave', 'the name is kept in the form');

      await tab2.page.getByTestId('auth-screen').waitFor();
      t.equal(
        await tab2.page.getByTestId('auth-notice').textContent(),
        'You were signed out. Sign in again to continue.',
        'tab 2 says signed out',
      );
      t.ok((await tab2.page.evaluate(() => (window as unknown as Recorded).__closes)).includes(4401), 'tab 2 was closed with 4401');
      t.equal(await tab2.page.getByTestId('sign-in-username').inputValue(), 'dave');
      await shot(tab2.page, 'browser-auth-5-signed-out.png');

      t.equal(await storedSessions(tab1.page), null, 'the token is forgotten');
      await tab1.page.waitForFunction(async () => !(await indexedDB.databases()).some((db) => db.name === 'chorus:account:dave'));
      t.pass("dave's local store is deleted (a shared machine keeps nothing)");
      await onlineEntry(alice.page, 'dave').waitFor({ state: 'detached' });
      t.pass('alice sees dave leave');
      await tab2.page.close();
    });

    await t.test("a guest on dave's name gets the sign-in screen for dave; a wrong password is refused in plain words", async (t) => {
      const guest = await openPage(await (await recordedProfile(browser)).newPage(), `${base}/dave`);
      tabs.push(guest);
      await guest.page.getByTestId('auth-screen').waitFor();
      t.match(await guest.page.getByTestId('auth-notice').textContent(), /^“dave” needs a password/, 'says dave needs a password');
      t.equal(await guest.page.getByTestId('sign-in-username').inputValue(), 'dave', 'the sign-in form is for dave');
      t.ok(
        (await guest.page.evaluate(() => (window as unknown as Recorded).__closes)).includes(4401),
        'the guest attempt was refused with 4401',
      );
      t.equal(new URL(guest.page.url()).pathname, '/dave');

      await guest.page.getByTestId('sign-in-password').fill('not the password');
      await guest.page.getByTestId('sign-in-submit').click();
      await guest.page.getByTestId('auth-error').waitFor();
      t.equal(await guest.page.getByTestId('auth-error').textContent(), 'Wrong username or password.', 'never says which');
      await shot(guest.page, 'browser-auth-6-wrong-password.png');
      await guest.page.setViewportSize(PHONE);
      await shot(guest.page, 'browser-auth-6-wrong-password-phone.png');

      await guest.page.getByTestId('sign-in-password').fill(password);
      await guest.page.getByTestId('sign-in-submit').click();
      await connState(guest.page, 'online').waitFor();
      t.equal(await guest.page.getByTestId('my-id').textContent(), 'dave', 'the right password gets in');
      await shot(guest.page, 'browser-auth-6-signed-in-phone.png');
      await guest.page.setViewportSize(DESKTOP);
      await onlineEntry(alice.page, 'dave').waitFor();

      await t.test('changing the password signs out the other browser, not this one', async (t) => {
        await signIn(tab1.page, 'dave', password);
        await connState(tab1.page, 'online').waitFor();
        await guest.page.getByTestId('account-menu-button').click();
        await guest.page.getByTestId('change-password').click();
        await guest.page.getByTestId('current-password').fill('wrong current');
        await guest.page.getByTestId('new-password').fill('a brand new password');
        await guest.page.getByTestId('change-password-submit').click();
        t.equal(await guest.page.getByTestId('password-error').textContent(), 'Your current password is not right.');
        await guest.page.getByTestId('current-password').fill(password);
        await guest.page.getByTestId('change-password-submit').click();
        await guest.page.getByTestId('password-changed').waitFor();
        await shot(guest.page, 'browser-auth-7-password-changed.png');
        await guest.page.getByRole('button', { name: 'Done' }).click();
        await tab1.page.getByTestId('auth-screen').waitFor();
        t.equal(
          await tab1.page.getByTestId('auth-notice').textContent(),
          'You were signed out. Sign in again to continue.',
          'the other browser is signed out',
        );
        t.equal(await connState(guest.page, 'online').count(), 1, 'this one stays online');
        await signIn(tab1.page, 'dave', password);
        await tab1.page.getByTestId('auth-error').getByText('Wrong username or password.').waitFor();
        await signIn(tab1.page, 'dave', 'a brand new password');
        await connState(tab1.page, 'online').waitFor();
        t.pass('the new password works, the old one does not');
      });
    });

    await t.test('a guest still works, and a hostile room name is shown as text', async (t) => {
      const erin = await openTab(browser, `${base}/erin`);
      tabs.push(erin);
      await connState(erin.page, 'online').waitFor();
      await erin.page.getByTestId('guest-badge').waitFor();
      t.pass('erin chats as a guest, no password');
      await onlineEntry(alice.page, 'erin').waitFor();
      const text = 'erin here, as a guest';
      await send(erin.page, text);
      await messagesWithText(tab1.page, text).waitFor();
      t.pass('dave (signed in) gets her message');

      await erin.page.getByTestId('create-room-button').click();
      await erin.page.getByTestId('room-name-input').fill(XSS);
      await erin.page.getByTestId('create-room-submit').click();
      await erin.page.getByTestId('room-dialog-error').waitFor();
      t.equal(await erin.page.locator('img').count(), 0, 'a room name: no <img>');
      await erin.page.keyboard.press('Escape');
      await shot(erin.page, 'browser-auth-8-guest.png');
    });

    await t.test('an expired token kept from last week: the sign-in screen says the session expired', async (t) => {
      const context = await recordedProfile(browser);
      t.teardown(() => context.close());
      await context.addInitScript(() => {
        const expired = { last: 'dave', tokens: { dave: { token: 'v1.old.1.sig', expiresAt: Date.now() - 1000 } } };
        if (localStorage.getItem('chorus:sessions') === null) localStorage.setItem('chorus:sessions', JSON.stringify(expired));
      });
      const page = await context.newPage();
      await page.goto(`${base}/dave`);
      await page.getByTestId('auth-screen').waitFor();
      t.equal(await page.getByTestId('auth-notice').textContent(), 'Your session expired. Sign in again to continue.');
      t.equal(await page.getByTestId('sign-in-username').inputValue(), 'dave');
      t.same(await page.evaluate(() => (window as unknown as Recorded).__closes), [], 'without even trying the server');
      t.equal(await storedSessions(page), null, 'the expired token is dropped');
    });

    for (const tab of tabs) t.equal(await noXss(tab.page).catch(() => undefined), undefined, 'nothing ran');
    t.same(
      tabs.flatMap((tab) => tab.problems),
      [],
      'no page threw, and every server frame matched the protocol',
    );
  });
}
