import { readFileSync } from 'node:fs';
import t from 'tap';

/**
 * The container images (deploy/*.Dockerfile) and their local variants
 * (deploy/local/*.Dockerfile, built by deploy/local/build-images.sh on a host
 * that reaches no registry) must be the same build: static checks, no
 * container engine needed.
 */

const PUBLISHED_BASE = 'node:20-bookworm-slim';
const LOCAL_BASE = 'localhost/chorus-node:20';

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** A Dockerfile's instructions: comments and blank lines dropped, continuation lines joined. */
function instructions(file: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // a comment inside a continued instruction
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = '';
    const space = whole.search(/\s/);
    out.push({ keyword: whole.slice(0, space).toUpperCase(), args: whole.slice(space + 1).trim() });
  }
  return out;
}

/** The stages: each FROM's base and name, and the instructions up to the next FROM. */
function stages(list: Instruction[]): { base: string; name: string; body: Instruction[] }[] {
  const out: { base: string; name: string; body: Instruction[] }[] = [];
  for (const ins of list) {
    if (ins.keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      out.push({ base: match?.[1] ?? '', name: match?.[2] ?? '', body: [] });
    } else {
      out.at(-1)?.body.push(ins);
    }
  }
  return out;
}

const render = (list: Instruction[]) => list.map((i) => `${i.keyword} ${i.args}`);

for (const app of ['server', 'client'] as const) {
  const published = instructions(`deploy/${app}.Dockerfile`);
  const local = instructions(`deploy/local/${app}.Dockerfile`);

  t.test(`${app}: the local Dockerfile differs from the published one only in the base image`, async (t) => {
    const froms = published.filter((i) => i.keyword === 'FROM');
    t.ok(froms.length >= 2, 'multi-stage');
    for (const from of froms) t.match(from.args, new RegExp(`^${PUBLISHED_BASE} AS \\S+$`), `published: FROM ${from.args}`);
    for (const from of local.filter((i) => i.keyword === 'FROM'))
      t.match(from.args, new RegExp(`^${LOCAL_BASE} AS \\S+$`), `local: FROM ${from.args}`);
    const asLocal = published.map((i) => (i.keyword === 'FROM' ? { ...i, args: i.args.replace(PUBLISHED_BASE, LOCAL_BASE) } : i));
    t.same(render(local), render(asLocal), 'same stages, RUN, COPY, ENV, USER, HEALTHCHECK and CMD, in the same order');
  });

  t.test(`${app}: the runtime stage runs node as PID 1, as a user, with a health check and production dependencies only`, async (t) => {
    const all = stages(published);
    const runtime = all.at(-1)!;
    const body = render(runtime.body);
    t.equal(runtime.name, 'runtime', 'the last stage is the runtime');
    const cmd = runtime.body.filter((i) => i.keyword === 'CMD');
    t.equal(cmd.length, 1, 'one CMD');
    const argv = JSON.parse(cmd[0]!.args) as string[];
    t.same(argv, ['node', `apps/${app}/dist/main.js`], 'exec form, node directly (no shell, no npm): SIGTERM reaches node');
    const users = runtime.body.filter((i) => i.keyword === 'USER');
    t.same(
      users.map((u) => u.args),
      ['node'],
      'runs as the non-root user node',
    );
    const health = runtime.body.find((i) => i.keyword === 'HEALTHCHECK');
    t.ok(health, 'a HEALTHCHECK');
    t.match(health?.args ?? '', /CMD \["node", "-e", ".*fetch\(.*\/health/, 'the health check is node fetching /health');
    t.notMatch(health?.args ?? '', /curl|wget/, 'no curl or wget');
    t.match(health?.args ?? '', /process\.env\.PORT/, 'on the configured PORT');
    t.ok(
      body.some((line) => /^ENV .*\bPORT=/.test(line)),
      'PORT has a default in ENV (and the environment overrides it)',
    );
    // The runtime gets its node_modules from a stage that installed production dependencies only.
    const copies = runtime.body.filter((i) => i.keyword === 'COPY' && /node_modules/.test(i.args));
    t.ok(copies.length > 0, 'node_modules come from another stage');
    for (const copy of copies) {
      const from = /--from=(\S+)/.exec(copy.args)?.[1];
      const stage = all.find((s) => s.name === from);
      t.ok(stage, `COPY --from=${from} names a stage`);
      t.ok(
        stage?.body.some((i) => i.keyword === 'RUN' && new RegExp(`npm ci --omit=dev --workspace apps/${app}\\b`).test(i.args)),
        `stage ${from} installs production dependencies of apps/${app} only`,
      );
    }
    t.notOk(
      runtime.body.some((i) => i.keyword === 'RUN' && /npm (ci|install)|apt-get/.test(i.args)),
      'nothing is installed in the runtime stage',
    );
    t.notOk(
      runtime.body.some((i) => i.keyword === 'COPY' && !/--from=/.test(i.args) && /\bsrc\b/.test(i.args)),
      'no TypeScript source in the runtime',
    );
  });
}

t.test('server: SQLite data at DATA_DIR, declared as a VOLUME, owned by the user; better-sqlite3 built from source', async (t) => {
  const all = stages(instructions('deploy/server.Dockerfile'));
  const runtime = render(all.at(-1)!.body);
  const dataDir = /\bDATA_DIR=(\S+)/.exec(runtime.find((l) => l.startsWith('ENV ') && l.includes('DATA_DIR=')) ?? '')?.[1];
  t.ok(dataDir, 'ENV DATA_DIR');
  t.ok(
    runtime.some((l) => l === `VOLUME ["${dataDir}"]`),
    `VOLUME ["${dataDir}"]`,
  );
  t.ok(
    runtime.some((l) => l.startsWith('RUN ') && l.includes(`chown node:node ${dataDir}`)),
    'the volume belongs to node',
  );
  const deps = all.find((s) => s.name === 'deps');
  t.ok(
    deps?.body.some((i) => i.keyword === 'RUN' && /apt-get install .*python3 make g\+\+/.test(i.args)),
    'the deps stage has python3, make and g++',
  );
  t.ok(
    deps?.body.some((i) => i.keyword === 'RUN' && /npm_config_build_from_source=true/.test(i.args)),
    'better-sqlite3 compiles from source (no prebuilt download)',
  );
});

t.test('the local node base image: Debian bookworm, node and npm, a user node with uid 1000', async (t) => {
  const list = render(instructions('deploy/local/node.Dockerfile'));
  t.equal(list[0], 'FROM localhost/debian:bookworm');
  t.ok(list.some((l) => /useradd --uid 1000 --gid node/.test(l) && /groupadd --gid 1000 node/.test(l)));
  t.ok(list.some((l) => /ln -sf \.\.\/lib\/node_modules\/npm\/bin\/npm-cli\.js \/usr\/bin\/npm/.test(l)));
});

t.test('.dockerignore keeps local state out of the build context', async (t) => {
  const ignored = readFileSync('.dockerignore', 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const entry of ['**/node_modules', '**/dist', '.git', 'data', 'static', '.env', '.env.prod'])
    t.ok(ignored.includes(entry), `ignores ${entry}`);
});
