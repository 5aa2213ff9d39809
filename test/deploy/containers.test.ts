/**
 * The images, running: deploy/local/smoke.sh against the images that
 * deploy/local/build-images.sh built from the repository's Dockerfiles
 * (.ci/run builds them before the tests). Two server containers behind nginx
 * with Redis and PostgreSQL, the client app, TLS, SIGTERM, headless Chromium
 * chatting through nginx while a node stops (smoke-browser.mjs), SQLite on a
 * volume: every check of the script must pass. Without CI, a machine without podman or
 * without the images skips this with the reason; under CI=true it fails.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { CLIENT_IMAGE, podmanMissing, SERVER_IMAGE } from '../helpers/podman.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const why = podmanMissing([SERVER_IMAGE, CLIENT_IMAGE]);
if (why !== null && process.env.CI !== 'true') {
  t.test('the images run', { skip: `container smoke test: ${why}` }, async () => {});
} else {
  t.test('the images run: two nodes behind nginx, the client app, TLS, SIGTERM, a browser through nginx, SQLite on a volume', async (t) => {
    t.equal(why, null, why ?? 'podman and both images are here');
    if (why !== null) return;
    const output = await new Promise<{ code: number | null; text: string }>((resolve) => {
      const child = spawn('bash', ['deploy/local/smoke.sh'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk;
      });
      child.stderr.on('data', (chunk: Buffer) => {
        text += chunk;
      });
      child.on('close', (code) => resolve({ code, text }));
    });
    const lines = output.text.trimEnd().split('\n');
    const summary = lines.at(-1) ?? '';
    const failed = lines.filter((line) => line.startsWith('FAIL') || line.startsWith('not ok'));
    t.same(failed, [], 'no check failed');
    t.match(summary, /^\d+ passed, 0 failed$/, 'the script ends with its count');
    t.ok(Number(summary.split(' ')[0]) >= 35, `every check ran (${summary})`);
    t.equal(output.code, 0, 'exit code 0');
    if (output.code !== 0) t.comment(output.text);
  });
}
