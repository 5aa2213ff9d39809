/**
 * The browser client end to end: the real server (two workers) and the real
 * client app, started as a user would, driven by headless Chromium.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { startApp } from '../helpers/spawn-app.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const XSS = '<img src=x onerror="window.__xss=1">';

/** A page signed in (or signing in) as one user, with what it reported. */
interface Tab {
  readonly page: Page;
  /** Uncaught exceptions and frames the client could not parse. */
  readonly problems: string[];
}

async function openTab(browser: Browser, url: string): Promise<Tab> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
  page.on('console', (msg) => {
    // The client warns with this prefix when a server frame breaks the protocol.
    if (msg.type() === 'warning' && msg.text().startsWith('chorus:')) problems.push(msg.text());
  });
  await page.goto(url);
  return { page, problems };
}

const connState = (page: Page, state: string): Locator =>
  page.locator(`[data-testid="conn-state"][data-state="${state}"]`);

const onlineEntry = (page: Page, id: string): Locator =>
  page.locator(`[data-testid="online-list"] [data-client-id="${id}"]`);

/** Message items whose text is exactly `text`. */
const messagesWithText = (page: Page, text: string): Locator =>
  page.getByTestId('message').filter({ has: page.getByTestId('message-text').getByText(text, { exact: true }) });

async function send(page: Page, text: string, to: string | null): Promise<void> {
  await page.getByTestId('recipient-select').selectOption(to ?? '');
  await page.getByTestId('composer-input').fill(text);
  await page.getByTestId('composer-input').press('Enter');
}

if (!existsSync(CHROMIUM)) {
  t.fail(`Chromium is missing at ${CHROMIUM}: install it (apt-get install chromium) to run the browser tests`);
} else {
  t.test('two people chat through the browser client', async (t) => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const server = await startApp('server', { WORKERS: '2' });
    t.teardown(() => server.stop());
    const client = await startApp('client', { SERVER: `ws://127.0.0.1:${server.port}` });
    t.teardown(() => client.stop());
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    t.teardown(() => browser.close());
    const base = `http://127.0.0.1:${client.port}`;

    const alice = await openTab(browser, `${base}/alice`);
    const bob = await openTab(browser, `${base}/bob`);
    const carol = await openTab(browser, `${base}/carol`);
    const tabs = [alice, bob, carol];

    await t.test('each shows its id, online, and sees the others', async (t) => {
      for (const [tab, me] of [
        [alice, 'alice'],
        [bob, 'bob'],
        [carol, 'carol'],
      ] as const) {
        await connState(tab.page, 'online').waitFor();
        t.equal(await tab.page.getByTestId('my-id').textContent(), me, `${me}'s page names ${me}`);
        for (const other of ['alice', 'bob', 'carol']) await onlineEntry(tab.page, other).waitFor();
        t.pass(`${me} is online and sees alice, bob and carol`);
      }
    });

    await t.test('a message to everyone reaches the others with its sender', async (t) => {
      const text = 'Hello everyone, from alice!';
      await send(alice.page, text, null);
      await messagesWithText(alice.page, text).and(alice.page.locator('[data-status="sent"]')).waitFor();
      t.pass("alice's own message is marked sent once the server acks it");
      for (const [tab, me] of [
        [bob, 'bob'],
        [carol, 'carol'],
      ] as const) {
        const message = messagesWithText(tab.page, text);
        await message.waitFor();
        t.equal(await message.getByTestId('message-from').textContent(), 'alice', `${me} sees alice as the sender`);
        t.equal(await message.getAttribute('data-private'), 'false', `${me} does not see it as private`);
      }
    });

    await t.test('a private message reaches only its recipient, marked private', async (t) => {
      const text = 'psst alice, this is just for you';
      await send(bob.page, text, 'alice');
      const message = messagesWithText(alice.page, text);
      await message.waitFor();
      t.equal(await message.getAttribute('data-private'), 'true', 'marked private');
      t.equal(await message.getByTestId('message-from').textContent(), 'bob', 'from bob');
      t.equal(await message.getByTestId('message-to').textContent(), 'alice', 'to alice');
      t.match(await message.textContent(), /bob\s*→\s*alice\s*\(private\)/, 'reads "bob → alice (private)"');
      await messagesWithText(bob.page, text).and(bob.page.locator('[data-status="sent"]')).waitFor();
      t.pass("bob's copy is marked sent");

      // carol then gets a later message from bob: per-sender order means the
      // private one, had it leaked, would already be on her page.
      const later = 'bob again, to everyone';
      await send(bob.page, later, null);
      await messagesWithText(carol.page, later).waitFor();
      t.equal(await messagesWithText(carol.page, text).count(), 0, 'carol never sees the private message');
    });

    await t.test('message text is shown as text, never as HTML', async (t) => {
      await send(alice.page, XSS, null);
      for (const tab of [alice, bob]) {
        const message = messagesWithText(tab.page, XSS);
        await message.waitFor();
        t.equal(await message.getByTestId('message-text').textContent(), XSS, 'shown literally');
        t.equal(await tab.page.locator('[data-testid="message-list"] img').count(), 0, 'no <img> was created');
        t.equal(await tab.page.evaluate(() => (window as { __xss?: unknown }).__xss), undefined, 'window.__xss is undefined');
      }
    });

    await t.test('a note to myself shows once, as mine and private', async (t) => {
      const text = 'note to self: buy milk';
      await send(alice.page, text, 'alice');
      // The server delivers it to me and acks it, on one socket: once it is
      // marked sent, both have arrived.
      const message = messagesWithText(alice.page, text);
      await message.and(alice.page.locator('[data-status="sent"]')).waitFor();
      t.equal(await message.count(), 1, 'shown once');
      t.equal(await message.getAttribute('data-private'), 'true', 'marked private');
    });

    await t.test('every message appears exactly once', async (t) => {
      // The XSS message came after the others from alice, so any duplicate of
      // hers would have arrived before it (per-sender order).
      for (const [tab, text] of [
        [bob, 'Hello everyone, from alice!'],
        [carol, 'Hello everyone, from alice!'],
        [alice, 'Hello everyone, from alice!'],
        [alice, 'psst alice, this is just for you'],
        [bob, 'psst alice, this is just for you'],
        [bob, XSS],
      ] as const) {
        t.equal(await messagesWithText(tab.page, text).count(), 1, `"${text}" once`);
      }
    });

    await t.test('a second tab with a connected id is told so in plain words', async (t) => {
      const again = await openTab(browser, `${base}/alice`);
      tabs.push(again);
      await connState(again.page, 'offline').waitFor();
      const banner = again.page.getByTestId('error-banner');
      t.match(await banner.textContent(), /already connected as “alice”/, 'the banner says alice is already connected');
      await again.page.screenshot({ path: `${ARTIFACTS}browser-alice-taken.png` });
      t.equal(await connState(alice.page, 'online').count(), 1, 'the first alice stays online');
      await again.page.context().close();
    });

    await t.test('on / the client asks for a name, then joins as it', async (t) => {
      const root = await openTab(browser, `${base}/`);
      tabs.push(root);
      await root.page.getByTestId('name-form').waitFor();
      await root.page.screenshot({ path: `${ARTIFACTS}browser-name-form.png` });
      await root.page.getByTestId('name-input').fill('dave');
      await root.page.getByTestId('name-input').press('Enter');
      await connState(root.page, 'online').waitFor();
      t.equal(new URL(root.page.url()).pathname, '/dave', 'the URL names dave');
      t.equal(await root.page.getByTestId('my-id').textContent(), 'dave', 'signed in as dave');
      await onlineEntry(alice.page, 'dave').waitFor();
      t.pass('alice sees dave come online');
      await root.page.context().close();
      await onlineEntry(alice.page, 'dave').waitFor({ state: 'detached' });
      t.pass('alice sees dave leave');
    });

    await alice.page.screenshot({ path: `${ARTIFACTS}browser-alice.png` });
    await bob.page.screenshot({ path: `${ARTIFACTS}browser-bob.png` });
    await bob.page.setViewportSize({ width: 390, height: 760 });
    await bob.page.screenshot({ path: `${ARTIFACTS}browser-bob-phone.png` });
    await bob.page.setViewportSize({ width: 1100, height: 720 });

    await t.test('a server restart is shown, and the client reconnects', async (t) => {
      await server.stop();
      await alice.page.locator('[data-testid="conn-state"][data-state="reconnecting"]').waitFor();
      t.match(await alice.page.getByTestId('error-banner').textContent(), /Trying again in \d+ s/, 'the banner counts down');
      await alice.page.screenshot({ path: `${ARTIFACTS}browser-alice-reconnecting.png` });
      // The same port, so that the client app's SERVER still points at it.
      const again = await startApp('server', { WORKERS: '2', PORT: String(server.port) });
      t.teardown(() => again.stop());
      for (const tab of [alice, bob]) await connState(tab.page, 'online').waitFor({ timeout: 30_000 });
      await onlineEntry(alice.page, 'bob').waitFor();
      t.pass('alice and bob are back online and see each other');
      const text = 'still here after the restart';
      await send(bob.page, text, null);
      await messagesWithText(alice.page, text).waitFor();
      t.pass('messages flow again');
    });

    t.same(
      tabs.flatMap((tab) => tab.problems),
      [],
      'no page threw, and every server frame matched the protocol',
    );
  });

  t.test('a full server is explained in plain words', async (t) => {
    const server = await startApp('server', { WORKERS: '2', MAX_CLIENTS: '1' });
    t.teardown(() => server.stop());
    const client = await startApp('client', { SERVER: `ws://127.0.0.1:${server.port}` });
    t.teardown(() => client.stop());
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    t.teardown(() => browser.close());
    const base = `http://127.0.0.1:${client.port}`;

    const first = await openTab(browser, `${base}/first`);
    await connState(first.page, 'online').waitFor();
    const second = await openTab(browser, `${base}/second`);
    await connState(second.page, 'reconnecting').waitFor();
    t.match(await second.page.getByTestId('error-banner').textContent(), /server is full/i, 'says the server is full');
    await second.page.screenshot({ path: `${ARTIFACTS}browser-server-full.png` });
    await first.page.context().close();
    await connState(second.page, 'online').waitFor({ timeout: 30_000 });
    t.pass('gets in once a place is free');
    t.same([...first.problems, ...second.problems], [], 'no page threw, and every server frame matched the protocol');
  });
}
