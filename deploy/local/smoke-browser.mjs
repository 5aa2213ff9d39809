// The browser half of deploy/local/smoke.sh: headless Chromium (Debian's /usr/bin/chromium, through
// the repository's playwright-core; no browser is downloaded) on the hosted client URL through nginx.
//   node deploy/local/smoke-browser.mjs PROXY_URL SERVER_URL UP_CONTAINER DOWN_CONTAINER DOWN_HEALTH_URL
// When it starts, only UP_CONTAINER serves (smoke.sh stopped DOWN_CONTAINER before), so both pages
// land on it through nginx: ${PROXY_URL}/alice and ${PROXY_URL}/bob. The pages learn the server from
// /env only: SERVER_URL's host (chorus-smoke.invalid) exists nowhere but in the client app's SERVER,
// and Chromium maps it to 127.0.0.1 (--host-resolver-rules), i.e. to nginx. Then DOWN_CONTAINER is
// started again, alice and bob chat in the lobby and privately, UP_CONTAINER gets SIGTERM mid-chat
// (each page sends while it goes away), both pages reconnect through nginx to the other node, and
// each page shows every message exactly once. Prints "ok ..." or "FAIL ..." per check; exit 0 when
// all passed. Bounded: every wait has a timeout, the whole run DEADLINE_MS.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.mjs';

const require = createRequire(new URL('../../package.json', import.meta.url));
const { chromium } = require('playwright-core');

const [proxy, serverUrl, upName, downName, downHealth] = process.argv.slice(2);
const DEADLINE_MS = 150_000;
const WAIT = { timeout: 30_000 };
const PODMAN = ['--runtime', 'runc'];
const serverHost = new URL(serverUrl).hostname;
let failures = 0;
const ok = (what) => console.log(`ok   browser: ${what}`);
const fail = (what) => {
  failures++;
  console.log(`FAIL browser: ${what}`);
};
const check = (cond, what, detail = '') => (cond ? ok(what) : fail(`${what}${detail ? `: ${detail}` : ''}`));

const deadline = setTimeout(() => {
  fail(`timed out after ${DEADLINE_MS / 1000} s`);
  process.exit(1);
}, DEADLINE_MS);

const podman = (...args) =>
  new Promise((resolve, reject) =>
    execFile('podman', [...PODMAN, ...args], { timeout: 40_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(stderr.trim() || err.message)) : resolve(stdout.trim()),
    ),
  );

async function until(what, test, ms = 40_000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await test().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

// The page's hooks (apps/web: data-testid, data-state, data-conversation), as test/web/fixtures/browser.ts uses them.
const connState = (page, state) => page.locator(`[data-testid="conn-state"][data-state="${state}"]`);
const messagesWithText = (page, text) =>
  page.getByTestId('message').filter({ has: page.getByTestId('message-text').getByText(text, { exact: true }) });
const conversationLink = (page, id) => page.locator(`[data-testid="conversation"][data-conversation="${id}"]`);
async function openConversation(page, id) {
  await conversationLink(page, id).click();
  await page.locator(`[data-testid="conversation"][data-conversation="${id}"][aria-current="page"]`).waitFor(WAIT);
}
async function send(page, text) {
  await page.getByTestId('composer-input').fill(text);
  await page.getByTestId('composer-input').press('Enter');
}
/** Every text of `texts` is shown exactly once in the open conversation of `page`. */
async function showsOnce(page, texts) {
  const counts = [];
  for (const text of texts) {
    await messagesWithText(page, text).first().waitFor(WAIT);
    counts.push(await messagesWithText(page, text).count());
  }
  return counts.every((n) => n === 1) ? '' : texts.map((t, i) => `"${t}" x${counts[i]}`).join(', ');
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: [
    ...CHROMIUM_ARGS,
    // The chat server's host name from /env resolves to nginx on this host, and nothing else does.
    `--host-resolver-rules=MAP ${serverHost} 127.0.0.1`,
  ],
});

async function openTab(id) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const page = await context.newPage();
  const tab = { id, page, sockets: [], envRequests: 0, problems: [] };
  page.on('websocket', (ws) => tab.sockets.push(ws.url()));
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/env') tab.envRequests++;
  });
  page.on('pageerror', (err) => tab.problems.push(`uncaught: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && msg.text().includes('Content Security Policy')) tab.problems.push(`csp: ${msg.text()}`);
    if (msg.type() === 'warning' && msg.text().startsWith('chorus:')) tab.problems.push(msg.text());
  });
  await page.goto(`${proxy}/${id}`);
  return tab;
}

try {
  const alice = await openTab('alice');
  const bob = await openTab('bob');
  for (const tab of [alice, bob]) {
    await connState(tab.page, 'online').waitFor(WAIT);
    const me = await tab.page.getByTestId('my-id').textContent();
    check(me === tab.id, `${proxy}/${tab.id} through nginx is online as ${me}`);
    check(
      tab.envRequests >= 1 && tab.sockets.length === 1 && tab.sockets[0].split('?')[0] === `${serverUrl}/ws/${tab.id}`,
      `${tab.id}'s page asked /env and opened ${tab.sockets[0]} (the SERVER of /env; its host resolves only to nginx)`,
      `env requests ${tab.envRequests}, sockets ${JSON.stringify(tab.sockets)}`,
    );
  }

  // The other node comes back, so that there is one to go to when this one stops.
  await podman('start', downName);
  await until(`${downName} /health`, async () => (await fetch(downHealth)).ok);
  ok(`${downName} started again and healthy; both pages are on ${upName}`);

  // Lobby, both ways.
  await send(alice.page, 'lobby: hello from alice');
  await messagesWithText(bob.page, 'lobby: hello from alice').waitFor(WAIT);
  await send(bob.page, 'lobby: hi alice, bob here');
  await messagesWithText(alice.page, 'lobby: hi alice, bob here').waitFor(WAIT);
  ok('lobby through nginx: alice -> bob and bob -> alice');

  // Private, both ways.
  await bob.page.locator('[data-testid="online-list"] [data-client-id="alice"]').getByRole('button').click();
  await conversationLink(bob.page, 'dm:alice,bob').waitFor(WAIT);
  await send(bob.page, 'private: bob to alice');
  await conversationLink(alice.page, 'dm:alice,bob').waitFor(WAIT);
  await openConversation(alice.page, 'dm:alice,bob');
  const dm = messagesWithText(alice.page, 'private: bob to alice');
  await dm.waitFor(WAIT);
  check((await dm.getAttribute('data-private')) === 'true', 'private through nginx: bob -> alice, shown as private');
  await send(alice.page, 'private: alice to bob');
  await messagesWithText(bob.page, 'private: alice to bob').waitFor(WAIT);
  ok('private through nginx: alice -> bob');

  // SIGTERM to the node both pages are on, mid-chat: each page sends while it goes away.
  await podman('kill', '--signal', 'TERM', upName);
  await send(alice.page, 'private: alice during the stop');
  await send(bob.page, 'private: bob during the stop');
  const code = await podman('wait', upName);
  check(code === '0', `SIGTERM to ${upName} mid-chat: it exited ${code}`);
  for (const tab of [alice, bob]) {
    await connState(tab.page, 'online').waitFor(WAIT);
    const again = tab.sockets.slice(1);
    check(
      again.length >= 1 && again.every((url) => url.split('?')[0] === `${serverUrl}/ws/${tab.id}`),
      `${tab.id} reconnected through nginx to ${downName} (the only node up): ${again.length} new socket(s) to ${again[0] ?? 'none'}`,
    );
  }
  const privateTexts = ['private: bob to alice', 'private: alice to bob', 'private: alice during the stop', 'private: bob during the stop'];
  for (const tab of [alice, bob]) {
    const wrong = await showsOnce(tab.page, privateTexts);
    check(wrong === '', `${tab.id}'s private conversation shows all 4 messages once each, those sent during the stop included`, wrong);
  }

  // The lobby resumes on the other node: the earlier messages once each, and new ones arrive.
  for (const tab of [alice, bob]) await openConversation(tab.page, 'everyone');
  await send(bob.page, 'lobby: after the restart');
  await messagesWithText(alice.page, 'lobby: after the restart').waitFor(WAIT);
  const lobbyTexts = ['lobby: hello from alice', 'lobby: hi alice, bob here', 'lobby: after the restart'];
  for (const tab of [alice, bob]) {
    const wrong = await showsOnce(tab.page, lobbyTexts);
    check(wrong === '', `${tab.id}'s lobby shows its 3 messages once each after the reconnect`, wrong);
  }
  for (const tab of [alice, bob]) {
    check(tab.problems.length === 0, `${tab.id}'s page: no uncaught error, no CSP refusal, no bad frame`, tab.problems.join('; '));
  }
} catch (err) {
  fail(err.message.split('\n')[0]);
} finally {
  await browser.close().catch(() => {});
  clearTimeout(deadline);
}
process.exit(failures === 0 ? 0 : 1);
