/**
 * Files in headless Chromium, against the real server (two workers) and client
 * app: attach with the picker, watch the upload finish, send; the other side
 * sees the image inline (thumbnail, at its size) and a PDF as a card with a
 * download link; cancel; drop and paste; a name with markup stays text; on a
 * phone the camera picker is offered.
 */
import sharp from 'sharp';
import t from 'tap';
import type { Page } from 'playwright-core';
import {
  XSS,
  connState,
  messagesWithText,
  newPhoneProfile,
  openPage,
  openTab,
  requireChromium,
  send,
  startRig,
} from './fixtures/browser.js';

const PDF = Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n', 'latin1');

/** Hands `files` to the page as if dropped on the composer, or pasted into its input. */
async function dropOrPaste(page: Page, how: 'drop' | 'paste', name: string, text: string): Promise<void> {
  await page.evaluate(
    ([how, name, text]) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([text!], name!, { type: 'text/plain' }));
      if (how === 'drop') {
        const composer = document.querySelector('[data-testid="composer"]')!;
        composer.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
        composer.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      } else {
        const input = document.querySelector('[data-testid="composer-input"]')!;
        input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }));
      }
    },
    [how, name, text],
  );
}

if (requireChromium(t)) {
  t.test('attachments in the browser', async (t) => {
    const { browser, base } = await startRig(t);
    const alice = await openTab(browser, `${base}/alice`);
    const bob = await openTab(browser, `${base}/bob`);
    for (const tab of [alice, bob]) await connState(tab.page, 'online').waitFor();
    const png = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 20, g: 120, b: 200 } } })
      .png()
      .toBuffer();

    await t.test('attach an image and a PDF, send: the other side sees the image inline and a card with a download', async (t) => {
      await alice.page.getByTestId('attach-input').setInputFiles([
        { name: 'photo.png', mimeType: 'image/png', buffer: png },
        { name: 'notes.pdf', mimeType: 'application/pdf', buffer: PDF },
      ]);
      await alice.page.locator('[data-testid="upload"][data-status="done"]').nth(1).waitFor();
      t.same(await alice.page.getByTestId('upload-status').allTextContents(), ['Ready', 'Ready']);
      await send(alice.page, 'two files');
      await alice.page.getByTestId('uploads').waitFor({ state: 'detached' });
      const message = messagesWithText(bob.page, 'two files');
      const image = message.getByTestId('file-image').locator('img');
      await image.waitFor();
      // Loaded from the chat server (its CSP allows it) at the size the server told.
      await t.resolves(
        image.evaluate((img: HTMLImageElement) => (img.complete ? null : new Promise((r) => img.addEventListener('load', r)))),
      );
      t.same(
        await image.evaluate((img: HTMLImageElement) => [img.naturalWidth > 0, img.width, img.height]),
        [true, 320, 240],
        'the thumbnail, shown at the image aspect',
      );
      t.match(await message.getByTestId('file-image').textContent(), /photo\.png · 640 × 480 · /);
      t.equal(await message.getByTestId('file-name').textContent(), 'notes.pdf');
      t.match(await message.getByTestId('file-detail').textContent(), /B · application\/pdf$/);
      const href = await message.getByTestId('file-download').getAttribute('href');
      t.match(href, /^http:\/\/127\.0\.0\.1:\d+\/files\/[A-Za-z0-9_-]{22}\?e=\d+&s=/);
      const download = await fetch(href!);
      t.equal(download.headers.get('content-type'), 'application/pdf');
      t.match(download.headers.get('content-disposition'), /^attachment; filename="notes.pdf"/);
      t.same(alice.problems, []);
      t.same(bob.problems, []);
    });

    await t.test('an upload can be cancelled; a file may be dropped or pasted', async (t) => {
      await alice.page.getByTestId('attach-input').setInputFiles([{ name: 'later.png', mimeType: 'image/png', buffer: png }]);
      await alice.page.getByTestId('upload').waitFor();
      await alice.page.getByTestId('upload-cancel').click();
      await alice.page.getByTestId('uploads').waitFor({ state: 'detached' });
      await dropOrPaste(alice.page, 'drop', 'dropped.txt', 'dropped text');
      await dropOrPaste(alice.page, 'paste', `${XSS}.txt`, 'pasted text');
      await alice.page.locator('[data-testid="upload"][data-status="done"]').nth(1).waitFor();
      await send(alice.page, 'dropped and pasted');
      const message = messagesWithText(bob.page, 'dropped and pasted');
      await message.getByTestId('file-card').nth(1).waitFor();
      // The browser's form encoding turns " into %22 (the HTML standard); the server takes < and > out.
      t.same(await message.getByTestId('file-name').allTextContents(), ['dropped.txt', '_img src=x onerror=%22window.__xss=1%22_.txt']);
      t.equal(await bob.page.evaluate(() => (window as { __xss?: number }).__xss), undefined, 'the name is text, never markup');
      t.equal(await message.locator('img').count(), 0);
    });

    await t.test('on a phone: the camera picker, and an attach button', async (t) => {
      const phone = await openPage(await (await newPhoneProfile(browser)).newPage(), `${base}/carol`);
      await connState(phone.page, 'online').waitFor();
      const camera = phone.page.getByTestId('camera-input');
      t.same([await camera.getAttribute('accept'), await camera.getAttribute('capture')], ['image/*,video/*', 'environment']);
      t.ok(await phone.page.locator('label.camera').isVisible(), 'shown on a phone');
      t.ok(await phone.page.locator('label.attach').first().isVisible(), 'the attach button too');
      t.notOk(await alice.page.locator('label.camera').isVisible(), 'not on a desktop');
    });
  });
}
