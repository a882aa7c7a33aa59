/**
 * The service's pool (db/database.ts) against a real PostgreSQL that cuts its connections again
 * and again: once the cutting stops, the pool opens connections again at once, whatever it went
 * through before, and no statement is refused for want of one (POOL_EXHAUSTED, 503 overloaded).
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_APPLICATION_NAME, openDatabase, POOL_EXHAUSTED, type DatabaseHandle } from '../../src/db/database.js';
import { useDatabase } from '../support/use-server.js';

const fresh = useDatabase();
let pool: DatabaseHandle;

beforeAll(() => {
  // A short connect timeout makes the pool's wait for a connection short (1.25 s): a reconnect
  // that waits longer than that refuses the statement.
  pool = openDatabase({ url: fresh.db.url, poolMax: 4, lockWaitMs: 2000, statementTimeoutMs: 5000, connectTimeoutS: 1 });
});
afterAll(async () => {
  await pool?.close();
});

const selectOne = async () => {
  try {
    await sql`SELECT 1`.execute(pool.db);
    return 'answered';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
};

describe('the pool after its connections were cut', () => {
  it('opens them again at once: no statement afterwards waits out a reconnect delay', async () => {
    let cutting = true;
    const cutter = (async () => {
      while (cutting) {
        await fresh.db.sql`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                           WHERE datname = current_database() AND application_name = ${DATABASE_APPLICATION_NAME}`;
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 40));
      }
    })();
    // More clients than connections, so that connections die while they are in use.
    const whileCut: string[] = [];
    const asking = async () => {
      for (const end = Date.now() + 5000; Date.now() < end;) whileCut.push(await selectOne());
    };
    await Promise.all(Array.from({ length: 6 }, asking));
    cutting = false;
    await cutter;
    expect(whileCut.filter((outcome) => outcome !== 'answered').length).toBeGreaterThan(0);

    const after: string[] = [];
    for (let i = 0; i < 10; i++) after.push(await selectOne());
    // The last cut may still end the first statement's connection; none may wait for a connection in vain.
    expect(after.filter((outcome) => outcome === POOL_EXHAUSTED)).toEqual([]);
    expect(after.slice(1)).toEqual(Array(9).fill('answered'));
  });
});
