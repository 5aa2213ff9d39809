/**
 * The conversation view in headless Chromium, against the real server and
 * client app: messages grouped per sender, links that open safely, my own
 * private bubbles labelled like my lobby ones, and a room subtitle that a
 * phone does not cut in the middle of a word.
 */
import t from 'tap';
import type { Locator, Page } from 'playwright-core';
import {
  XSS,
  connState,
  messagesWithText,
  newPhoneProfile,
  onlineEntry,
  openConversation,
  openPage,
  openTab,
  requireChromium,
  send,
  shot,
  startRig,
} from './fixtures/browser.js';

/** Whether the item shows its sender's name (visible, not only for screen readers) and avatar. */
function header(message: Locator): Promise<{ name: string | null; nameShown: boolean; avatar: boolean }> {
  return message.evaluate((li) => {
    const from = li.querySelector('[data-testid="message-from"]');
    return {
      name: from?.textContent ?? null,
      nameShown: from !== null && !from.classList.contains('visually-hidden'),
      avatar: li.querySelector('.avatar') !== null,
    };
  });
}

/**
 * What of the conversation header's subtitle does not show whole: the
 * subtitle or a part of it cut (its content wider or taller than its box, as
 * an ellipsis hides). Empty when all of it shows.
 */
function whatIsCut(page: Page): Promise<string[]> {
  return page.getByTestId('conversation-subtitle').evaluate((subtitle) => {
    const cut: string[] = [];
    for (const element of [subtitle, ...subtitle.querySelectorAll('*')]) {
      const style = getComputedStyle(element);
      if (style.display === 'none' || style.display === 'inline') continue;
      if (element.scrollWidth > element.clientWidth + 0.5 || element.scrollHeight > element.clientHeight + 0.5) {
        cut.push(
          `“${element.textContent}” (${element.scrollWidth}x${element.scrollHeight} in ${element.clientWidth}x${element.clientHeight})`,
        );
      }
    }
    return cut;
  });
}

if (requireChromium(t)) {
  t.test('the conversation view: groups, links, labels, and the phone subtitle', async (t) => {
    const { browser, base } = await startRig(t);
    const alice = await openTab(browser, `${base}/alexandra`);
    const bob = await openTab(browser, `${base}/bartholomew`);
    for (const tab of [alice, bob]) await connState(tab.page, 'online').waitFor();

    await t.test('consecutive messages of one sender are one group: name and avatar once', async (t) => {
      for (const text of ['first of three', 'second of three', 'third of three']) await send(alice.page, text);
      await send(bob.page, 'an answer');
      await send(alice.page, 'after the answer');
      await messagesWithText(bob.page, 'after the answer').waitFor();
      const of = (text: string) => header(messagesWithText(bob.page, text));
      t.same(
        await of('first of three'),
        { name: 'alexandra', nameShown: true, avatar: true },
        'the first names the sender, with the avatar',
      );
      t.same(
        await of('second of three'),
        { name: 'alexandra', nameShown: false, avatar: false },
        'the second is in her group (the name only for screen readers)',
      );
      t.same(await of('third of three'), { name: 'alexandra', nameShown: false, avatar: false }, 'the third too');
      t.same(await of('an answer'), { name: 'bartholomew', nameShown: true, avatar: true }, 'another sender starts a group');
      t.same(await of('after the answer'), { name: 'alexandra', nameShown: true, avatar: true }, 'and so does she, after him');
      await shot(bob.page, 'browser-view-1-groups.png');
    });

    await t.test('http and https links open in a new tab without an opener or a referrer; other schemes stay text', async (t) => {
      // The links go nowhere real: the browser answers them itself.
      const referers: (string | undefined)[] = [];
      await bob.page.context().route('https://example.test/**', (route) => {
        referers.push(route.request().headers().referer);
        return route.fulfill({ contentType: 'text/html', body: '<title>example</title><p>example page</p>' });
      });
      const text = `see https://example.test/docs?a=1&b=2. or (http://example.test/x) but not javascript:alert(1) nor data:text/html,hi ${XSS}`;
      await send(alice.page, text);
      const message = messagesWithText(bob.page, text);
      await message.waitFor();
      t.equal(await message.getByTestId('message-text').textContent(), text, 'the text is shown as it was written');
      const links = await message.getByTestId('message-link').evaluateAll((as) =>
        as.map((a) => ({
          href: a.getAttribute('href'),
          text: a.textContent,
          target: a.getAttribute('target'),
          rel: a.getAttribute('rel'),
        })),
      );
      t.same(
        links,
        [
          {
            href: 'https://example.test/docs?a=1&b=2',
            text: 'https://example.test/docs?a=1&b=2',
            target: '_blank',
            rel: 'noopener noreferrer',
          },
          { href: 'http://example.test/x', text: 'http://example.test/x', target: '_blank', rel: 'noopener noreferrer' },
        ],
        'two links, http(s) only, the sentence’s punctuation left out',
      );
      t.equal(
        await bob.page
          .locator('[data-testid="message-list"] a[href^="javascript:" i], [data-testid="message-list"] a[href^="data:" i]')
          .count(),
        0,
        'no javascript: or data: link',
      );
      t.equal(await bob.page.locator('[data-testid="message-list"] img').count(), 0, 'no HTML from the text');

      const [popup] = await Promise.all([bob.page.waitForEvent('popup'), message.getByTestId('message-link').first().click()]);
      await popup.waitForLoadState();
      t.equal(popup.url(), 'https://example.test/docs?a=1&b=2', 'the link opens in a new tab');
      t.equal(await popup.evaluate(() => window.opener), null, 'which cannot reach this page (no opener)');
      t.same(referers, [undefined], 'and is not told where it came from (no referrer)');
      await popup.close();
      await shot(bob.page, 'browser-view-2-links.png');
    });

    await t.test('my own private bubbles are labelled like my lobby ones', async (t) => {
      const lobbyOwn = await header(messagesWithText(alice.page, 'after the answer'));
      await onlineEntry(alice.page, 'bartholomew').getByRole('button').click();
      await alice.page.getByTestId('conversation-title').getByText('bartholomew', { exact: true }).waitFor();
      await send(alice.page, 'a private word');
      const own = messagesWithText(alice.page, 'a private word');
      await own.waitFor();
      t.same(lobbyOwn, { name: 'alexandra', nameShown: true, avatar: true }, 'in the lobby my bubble is labelled with my name');
      t.same(await header(own), lobbyOwn, 'in a private conversation too');
      await openConversation(bob.page, 'dm:alexandra,bartholomew');
      await messagesWithText(bob.page, 'a private word').waitFor();
      t.same(
        await header(messagesWithText(bob.page, 'a private word')),
        { name: 'alexandra', nameShown: true, avatar: true },
        'and the other side sees who wrote it',
      );
      await shot(alice.page, 'browser-view-3-private.png');
    });

    await t.test('on a phone the room subtitle shows whole: nothing is cut in the middle of a word', async (t) => {
      await openConversation(alice.page, 'everyone');
      await alice.page.getByTestId('create-room-button').click();
      await alice.page.getByTestId('room-name-input').fill('planning');
      await alice.page.getByTestId('room-name-input').press('Enter');
      await alice.page.getByTestId('conversation-title').getByText('planning', { exact: true }).waitFor();
      const context = await newPhoneProfile(browser);
      t.teardown(() => context.close());
      const phone = await openPage(await context.newPage(), `${base}/cornelius`);
      await connState(phone.page, 'online').waitFor();
      await phone.page.getByTestId('sidebar-toggle').click();
      await phone.page.locator('[data-testid="room-other"][data-room="planning"] [data-testid="join-room"]').click();
      const subtitle = phone.page.getByTestId('conversation-subtitle');
      await subtitle.getByText(/2 members/).waitFor();
      // Once the member list has come (the answer to joining).
      await phone.page.locator('[data-testid="conversation-subtitle"][title="2 members: alexandra, you · owner alexandra"]').waitFor();
      t.pass('the whole subtitle is its tooltip');
      t.same(await whatIsCut(phone.page), [], 'no part of the subtitle is cut');
      // Playwright's innerText, the text as laid out: without what CSS hides on a phone.
      // biome-ignore lint/performance/useDomNodeTextContent: not the DOM property.
      const shown = await subtitle.innerText();
      t.match(shown, /^2 members\s*·\s*owner alexandra$/, 'the phone shows the count and the owner (the names are in the member list)');
      await shot(phone.page, 'browser-view-4-phone-subtitle.png');
      await phone.page.setViewportSize({ width: 320, height: 640 });
      t.same(await whatIsCut(phone.page), [], 'not on a 320 px screen either: it wraps between parts');
      await shot(phone.page, 'browser-view-5-phone-320.png');
      t.same(phone.problems, [], 'no page threw');
    });

    t.same([...alice.problems, ...bob.problems], [], 'no page threw, and every server frame matched the protocol');
  });
}
