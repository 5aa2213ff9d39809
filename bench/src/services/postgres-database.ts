import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server the bench creates its databases on (trust authentication, as in development and CI). */
export const DEFAULT_POSTGRES_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

/** Bench databases are named so: a database left by a bench that was killed can be told apart. */
export const DATABASE_PREFIX = 'chorus_bench_';

/**
 * A fresh, empty PostgreSQL database for one start of a system, dropped after
 * it (with the connections still open to it). It keeps one connection to the
 * server's maintenance database, to create and drop it and to find the
 * server processes that serve it.
 */
export class PostgresDatabase {
  readonly name: string;
  /** The URL the system connects to (DATABASE_URL). */
  readonly url: string;
  readonly #admin: pg.Client;
  #dropped = false;

  private constructor(name: string, url: string, admin: pg.Client) {
    this.name = name;
    this.url = url;
    this.#admin = admin;
  }

  /** Creates `chorus_bench_<pid>_<random>` on the server of `serverUrl` (a URL of any database there). */
  static async create(serverUrl = DEFAULT_POSTGRES_URL): Promise<PostgresDatabase> {
    const admin = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5_000 });
    admin.on('error', () => {}); // a dropped admin connection fails the next query, which says why
    try {
      await admin.connect();
    } catch (err) {
      throw new Error(`PostgreSQL at ${redact(serverUrl)} is not reachable: ${(err as Error).message}`);
    }
    const name = `${DATABASE_PREFIX}${process.pid}_${randomBytes(4).toString('hex')}`;
    try {
      // A name cannot be a bind parameter; this one is made of [a-z0-9_] only.
      await admin.query(`CREATE DATABASE ${name}`);
    } catch (err) {
      await admin.end().catch(() => {});
      throw new Error(`CREATE DATABASE on ${redact(serverUrl)} failed: ${(err as Error).message}`);
    }
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return new PostgresDatabase(name, url.toString(), admin);
  }

  /** PIDs of the server processes serving connections to this database now (on this machine: their CPU is the system's). */
  async backendPids(): Promise<number[]> {
    if (this.#dropped) return [];
    const { rows } = await this.#admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [this.name]);
    return rows.map((r) => r.pid);
  }

  /** Drops the database, closing whatever connections are still open to it, and the admin connection. */
  async drop(): Promise<void> {
    if (this.#dropped) return;
    this.#dropped = true;
    try {
      await this.#admin.query(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
    } finally {
      await this.#admin.end().catch(() => {});
    }
  }
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an invalid URL)';
  }
}
