import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { WORKER_SEMI_SPACE_MIB, workerExecArgv } from '../../apps/server/src/cluster/young-generation.js';

t.test("workers get the semi-space ceiling after the primary's own flags", async (t) => {
  t.same(workerExecArgv(['--enable-source-maps'], ''), ['--enable-source-maps', `--max-semi-space-size=${WORKER_SEMI_SPACE_MIB}`]);
});

t.test("an operator's choice wins, on the command line or in NODE_OPTIONS", async (t) => {
  t.same(workerExecArgv(['--max-semi-space-size=32'], ''), ['--max-semi-space-size=32']);
  t.same(workerExecArgv([], '--inspect --max-semi-space-size=2'), []);
  t.same(workerExecArgv(['--max-semi-space-size', '64'], ''), ['--max-semi-space-size', '64']);
});

/**
 * start-small and letYoungGenerationGrow (@chorus/service-kit) in a fresh node: garbage made while
 * starting leaves the young generation at its starting size; once the app listens it grows again.
 */
const CHURN = `
import '@chorus/service-kit/start-small';
import v8 from 'node:v8';
import { letYoungGenerationGrow } from '@chorus/service-kit';
const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
const churn = () => { let keep = []; for (let i = 0; i < 4e6; i++) { keep.push({ i }); if (keep.length > 2e5) keep = []; } };
churn();
const held = newSpace();
letYoungGenerationGrow();
churn();
console.log(JSON.stringify({ held, grown: newSpace() }));
`;

const MIB = 1024 * 1024;

function churnIn(execArgv: string[]): { held: number; grown: number } {
  const out = execFileSync(process.execPath, [...execArgv, '--input-type=module', '-e', CHURN], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    env: { ...process.env, NODE_OPTIONS: '' },
    timeout: 60_000,
  });
  return JSON.parse(out.toString()) as { held: number; grown: number };
}

t.test('the young generation stays at its starting size while an app starts, and grows once it listens', async (t) => {
  const { held, grown } = churnIn([]);
  t.ok(held <= 8 * MIB, `held while starting: ${held / MIB} MiB`);
  t.ok(grown >= 16 * MIB && grown > held, `grown after letYoungGenerationGrow: ${grown / MIB} MiB`);
});

t.test("an operator's --semi-space-growth-factor is left alone", async (t) => {
  const { held } = churnIn(['--semi-space-growth-factor=2']);
  t.ok(held >= 16 * MIB, `grown as the operator asked: ${held / MIB} MiB`);
});
