import { Kysely, type CompiledQuery, type Transaction } from 'kysely';
import postgres from 'postgres';
import { holdForCommit, postgresJsDialect } from './driver.js';
import { connectWithoutDelay, endPool, reconnectDelaySeconds } from './postgres-js-workarounds.js';
import type { Database } from './schema.js';

export { endsSession, POOL_EXHAUSTED } from './errors.js';

/** How the service's connections name themselves to PostgreSQL (pg_stat_activity.application_name). */
export const DATABASE_APPLICATION_NAME = 'co-order';

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
    // A documented option (a function that returns the socket) that postgres.js's types leave out.
    ...({ socket: connectWithoutDelay } as object),
    max: options.poolMax,
    connect_timeout: options.connectTimeoutS,
    backoff: reconnectDelaySeconds,
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
      application_name: DATABASE_APPLICATION_NAME,
      // Bounded waits: a request never hangs on a lock or a slow statement.
      lock_timeout: options.lockWaitMs,
      statement_timeout: options.statementTimeoutMs,
      idle_in_transaction_session_timeout: options.statementTimeoutMs * 2,
    } as Record<string, string | number>,
  });
  const db = new Kysely<Database>({ dialect: postgresJsDialect(sql, options.connectTimeoutS * 1000) });
  return {
    db,
    sql,
    close: async () => {
      await endPool(sql);
      await db.destroy();
    },
  };
}

/** What transactionEndingWith hands its work besides the transaction. */
export interface TransactionEnd {
  /**
   * Sends `statement` in the same round trip as the COMMIT, after every statement of the work,
   * whenever it is called during the work. PostgreSQL runs them in order: if the statement fails,
   * the transaction is rolled back and the statement's error is thrown.
   */
  withCommit(statement: CompiledQuery): void;
}

/**
 * Runs `work` in one transaction that ends with the statements `work` passes to `withCommit`, sent
 * with the COMMIT. Used to store an idempotent answer at no extra round trip.
 */
export async function transactionEndingWith<Result>(db: Db, work: (tx: Tx, end: TransactionEnd) => Promise<Result>): Promise<Result> {
  return db.transaction().execute(async (tx) => {
    const last: CompiledQuery[] = [];
    let working = true;
    const withCommit = (statement: CompiledQuery) => {
      // Once the work has ended its COMMIT may already be on the wire.
      if (!working) throw new Error('withCommit was called after the transaction’s work ended');
      last.push(statement);
    };
    const result = await work(tx, { withCommit }).finally(() => {
      working = false;
    });
    if (last.length > 0) await holdForCommit(tx, last);
    return result;
  });
}
