import postgres from 'postgres';
import { inject } from 'vitest';
import { databaseUrl } from './urls.js';

let counter = 0;

export interface TestDatabase {
  url: string;
  /** A direct connection for setting up state and auditing it (never for what the API can do). */
  sql: postgres.Sql;
  drop(): Promise<void>;
}

/**
 * A database of this test file's own, cloned from the migrated and seeded template, so files run
 * in parallel and no test sees another's data.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = inject('serverUrl');
  const name = `co_order_t_${process.ppid}_${process.pid}_${++counter}_${Date.now() % 100000}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  // Creating from one template at a time: PostgreSQL refuses a template that is being copied.
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.unsafe(`CREATE DATABASE ${name} TEMPLATE ${inject('templateDatabase')}`);
      break;
    } catch (error) {
      if (attempt > 50 || !String((error as Error).message).includes('being accessed')) throw error;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
  }
  const url = databaseUrl(serverUrl, name);
  // int8 as number, as the service reads it: KRW amounts and counts are far below 2^53.
  const sql = postgres(url, { max: 4, onnotice: () => {}, types: { bigint: { to: 20, from: [20], serialize: String, parse: Number } } });
  return {
    url,
    sql,
    drop: async () => {
      await sql.end();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** A database with nothing in it (no migration, no seed), as a new deployment finds one, and a way to drop it. */
export async function createEmptyDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const serverUrl = inject('serverUrl');
  const name = `co_order_t_${process.ppid}_${process.pid}_empty_${++counter}_${Date.now() % 100000}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  return {
    url: databaseUrl(serverUrl, name),
    drop: async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}
