import { randomBytes } from 'node:crypto';
import pg from 'pg';

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * A fresh PostgreSQL database for one suite (`CREATE DATABASE`), dropped
 * afterwards. Fails, never skips, when PostgreSQL is unreachable.
 */
export async function createDatabase(): Promise<TestDatabase> {
  const name = `chorus_nodes_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable at ${ADMIN_URL} (${(error as Error).message}); this test does not skip.`);
  }
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      // Servers killed with SIGKILL leave their sessions for the database to notice.
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}
