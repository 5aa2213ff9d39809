/**
 * The browser client keeps to the server's frame rate (the real server with
 * its default MESSAGE_RATE 20 and MESSAGE_BURST 40, two workers): sixty
 * messages typed at once, and sixty written offline and flushed after a
 * restart, all arrive, and the server never answers RATE_LIMITED. While the
 * server is down the page says since when it is not connected.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Page } from 'playwright-core';
import { startApp } from '../helpers/spawn-app.js';
import { connState, messagesWithText, openTab, requireChromium, shot, startRig, type Tab } from './fixtures/browser.js';

/** The server's own defaults (the tests' helpers raise them for other files). */
const DEFAULT_RATE = { MESSAGE_RATE: '20', MESSAGE_BURST: '40' };

/** Counts the RATE_LIMITED errors the server sends to `page`, on every socket it opens. */
function countRateLimited(page: Page): { readonly count: number } {
  const seen = { count: 0 };
  page.on('websocket', (socket) =>
    socket.on('framereceived', ({ payload }) => {
      if (typeof payload === 'string' && payload.includes('"RATE_LIMITED"')) seen.count++;
    }),
  );
  return seen;
}

/** Types and sends each text as fast as the page can take it (no waiting between them). */
function sendAtOnce(page: Page, texts: readonly string[]): Promise<void> {
  return page.evaluate((texts) => {
    const input = document.querySelector<HTMLTextAreaElement>('[data-testid="composer-input"]')!;
    const setValue = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value')!.set!;
    for (const text of texts) {
      setValue.call(input, text);
      input.dispatchEvent(new Event('input', { bubbles: true }));
      input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
    }
  }, texts);
}

const numbered = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`);

/** How many messages of the open conversation start with `prefix`. */
const countOf = (tab: Tab, prefix: string) =>
  tab.page
    .getByTestId('message-text')
    .evaluateAll((els, prefix) => els.filter((el) => el.textContent?.startsWith(`${prefix} `)).length, prefix);

if (requireChromium(t)) {
  t.test('sixty messages at once, and sixty flushed after a restart: all arrive, never RATE_LIMITED', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'chorus-pace-'));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    const rig = await startRig(t, { ...DEFAULT_RATE, DATA_DIR: dataDir });
    const { browser, base } = rig;
    let server = rig.server;
    t.teardown(() => server.stop());

    const alice = await openTab(browser, `${base}/alice`);
    const bob = await openTab(browser, `${base}/bob`);
    const limited = [countRateLimited(alice.page), countRateLimited(bob.page)];
    for (const tab of [alice, bob]) await connState(tab.page, 'online').waitFor();

    await t.test('sixty typed at once reach bob, in order, and are read', async (t) => {
      const burst = numbered('burst', 60);
      await sendAtOnce(alice.page, burst);
      await messagesWithText(bob.page, 'burst 60').waitFor();
      t.equal(await countOf(bob, 'burst'), 60, 'bob has all sixty');
      const texts = await bob.page.getByTestId('message-text').allTextContents();
      t.same(
        texts.filter((text) => text.startsWith('burst ')),
        burst,
        'in the order typed',
      );
      await messagesWithText(alice.page, 'burst 60').locator('[data-testid="ticks"][data-tick="read"]').waitFor();
      t.pass('alice sees the last one read (the receipts kept to the rate too)');
      t.equal(limited[0]!.count + limited[1]!.count, 0, 'the server never answered RATE_LIMITED');
      t.equal(await alice.page.getByTestId('notice').count(), 0, 'no banner on alice’s page');
      await shot(bob.page, 'browser-pace-1-burst.png');
    });

    await t.test('while the server is down the page says since when it is not connected', async (t) => {
      await server.stop();
      await connState(alice.page, 'reconnecting').waitFor();
      await alice.page
        .getByTestId('conversation-subtitle')
        .getByText(/^Not connected since \d/)
        .waitFor();
      t.pass('the lobby no longer says who is online, but since when it is not connected');
      t.match(await alice.page.getByTestId('offline-since').textContent(), /^Not connected since \d/, 'the banner too');
      t.match(await alice.page.getByTestId('online-list').textContent(), /alice/, 'the last known list stays, marked as such');
      await alice.page.getByText('Last known list (not connected).').waitFor();
    });

    await t.test('sixty written while offline go after the restart, once each, in order, never RATE_LIMITED', async (t) => {
      const offline = numbered('offline', 60);
      await sendAtOnce(alice.page, offline);
      await messagesWithText(alice.page, 'offline 60').locator('[data-testid="ticks"][data-tick="pending"]').waitFor();
      await shot(alice.page, 'browser-pace-2-offline.png');
      server = await startApp('server', { WORKERS: '2', PORT: String(rig.server.port), DATA_DIR: dataDir, ...DEFAULT_RATE });
      for (const tab of [alice, bob]) await connState(tab.page, 'online').waitFor({ timeout: 30_000 });
      await messagesWithText(bob.page, 'offline 60').waitFor({ timeout: 30_000 });
      t.equal(await countOf(bob, 'offline'), 60, 'bob has all sixty');
      const texts = await bob.page.getByTestId('message-text').allTextContents();
      t.same(
        texts.filter((text) => text.startsWith('offline ')),
        offline,
        'once each, in the order written',
      );
      // Acknowledged, every one (those sent before bob was back were for nobody else: "sent", not read).
      await alice.page.waitForFunction(() => document.querySelector('[data-testid="ticks"][data-tick="pending"]') === null);
      t.pass('nothing left pending on alice’s page');
      t.equal(limited[0]!.count + limited[1]!.count, 0, 'the server never answered RATE_LIMITED');
      t.equal(await alice.page.getByTestId('notice').count(), 0, 'no banner');
      await shot(alice.page, 'browser-pace-3-flushed.png');
    });

    t.same([...alice.problems, ...bob.problems], [], 'no page threw, and every server frame matched the protocol');
  });
}
