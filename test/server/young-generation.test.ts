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
