import pg from 'pg';
import t from 'tap';
import { DATABASE_PREFIX, DEFAULT_POSTGRES_URL, PostgresDatabase } from '../../bench/dist/services/postgres-database.js';

/** Whether a database of that name exists on the bench's server (asked over a connection of the test's own). */
async function exists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: DEFAULT_POSTGRES_URL });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rows.length === 1;
  } finally {
    await client.end();
  }
}

t.test('a fresh database per start: usable at its URL, its backends found, dropped with a connection still open', async (t) => {
  const [db, other] = await Promise.all([PostgresDatabase.create(), PostgresDatabase.create()]);
  t.teardown(() => Promise.all([db.drop(), other.drop()]));
  t.not(db.name, other.name, 'two databases, two names');
  t.ok(db.name.startsWith(DATABASE_PREFIX), 'named as a bench database');
  t.equal(new URL(db.url).pathname, `/${db.name}`, 'its URL names it');
  t.ok(await exists(db.name), 'it exists');

  const client = new pg.Client({ connectionString: db.url });
  client.on('error', () => {}); // the drop below terminates this connection
  await client.connect();
  const { rows } = await client.query<{ n: number; pid: number }>(
    'SELECT count(*)::int AS n, pg_backend_pid() AS pid FROM pg_tables WHERE schemaname = $1',
    ['public'],
  );
  t.equal(rows[0]!.n, 0, 'it is empty');
  await client.query('CREATE TABLE t (x int)');
  t.ok((await db.backendPids()).includes(rows[0]!.pid), "the backend serving the connection is found (its CPU is the system's)");
  t.notOk((await other.backendPids()).includes(rows[0]!.pid), "another database's backends are not");

  await db.drop();
  t.notOk(await exists(db.name), 'dropped, although a connection was open to it');
  t.same(await db.backendPids(), [], 'no backends once dropped');
  await db.drop();
  t.pass('dropping twice is harmless');
});

t.test('an unreachable PostgreSQL is a readable error', async (t) => {
  await t.rejects(
    PostgresDatabase.create('postgresql://postgres@127.0.0.1:1/postgres'),
    /PostgreSQL at postgresql:\/\/postgres@127\.0\.0\.1:1\/postgres is not reachable/,
  );
});
