import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import t from 'tap';
import { runToExit } from './helpers/run-to-exit.js';

// `npm start` run a second time: both ports are taken. Each app must say so
// itself (a sibling stopping the other first hid the server's reason).
t.test('npm start with its ports taken: each app reports its own port, once', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const dataDir = mkdtempSync(join(tmpdir(), 'chorus-npm-start-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));

  // The start script itself (npm's prestart builds; the test run has built already).
  const script = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts.start;
  const { code, stdout, stderr } = await runToExit('sh', ['-c', script], {
    // One PORT for both apps: both find it taken, as a second `npm start` finds 8080 and 3000.
    env: {
      ...process.env,
      PATH: `${join(process.cwd(), 'node_modules/.bin')}${delimiter}${process.env.PATH}`,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
    },
  });
  const output = stdout + stderr;
  t.not(code, 0, 'npm start fails');
  for (const app of ['server', 'client']) {
    const line = `chorus ${app}: port ${port} is in use: is another server running?`;
    t.equal(output.split(line).length - 1, 1, `the ${app} says it once`);
  }
  t.notMatch(stdout, /in use/, 'no JSON copy of it in the logs');
});
