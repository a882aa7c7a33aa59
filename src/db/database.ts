import { Kysely, type Transaction } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import postgres from 'postgres';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
/** Helpers that lock or compare-and-set take a Tx, so they cannot be called outside a transaction. */
export type Tx = Transaction<Database>;

export interface DatabaseOptions {
  url: string;
  poolMax: number;
  lockWaitMs: number;
  statementTimeoutMs: number;
  connectTimeoutS: number;
}

export interface DatabaseHandle {
  db: Db;
  sql: postgres.Sql;
  close(): Promise<void>;
}

export function openDatabase(options: DatabaseOptions): DatabaseHandle {
  const sql = postgres(options.url, {
    max: options.poolMax,
    connect_timeout: options.connectTimeoutS,
    idle_timeout: 60,
    onnotice: () => {},
    // int8 (ids excluded: they are uuid) carries KRW amounts and counts, far below 2^53.
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (value: number) => String(value),
        parse: (value: string) => Number(value),
      },
    },
    connection: {
      application_name: 'co-order',
      // Bounded waits: a request never hangs on a lock or a slow statement.
      lock_timeout: options.lockWaitMs,
      statement_timeout: options.statementTimeoutMs,
      idle_in_transaction_session_timeout: options.statementTimeoutMs * 2,
    } as Record<string, string | number>,
  });
  const db = new Kysely<Database>({ dialect: new PostgresJSDialect({ postgres: sql }) });
  return {
    db,
    sql,
    close: async () => {
      await db.destroy();
    },
  };
}
