import { AsyncLocalStorage } from 'node:async_hooks';
import {
  CompiledQuery, Kysely, type DatabaseConnection, type Driver, type QueryResult, type Transaction, type TransactionSettings,
} from 'kysely';
import { PostgresJSDialect, PostgresJSDriver, type PostgresJSDialectConfig } from 'kysely-postgres-js';
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

// Closing the pool at shutdown: long enough for a last statement, short of any orchestrator's patience.
const CLOSE_TIMEOUT_S = 5;

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
  const db = new Kysely<Database>({
    dialect: new PipeliningDialect({ postgres: guardReservedConnections(sql, options.connectTimeoutS * 1000) }),
  });
  return {
    db,
    sql,
    close: async () => {
      // postgres.js 3.4.9 can wait forever to end a pool whose connections the server cut
      // (porsager/postgres#1097): the connections get a few seconds to finish, then are closed.
      await sql.end({ timeout: CLOSE_TIMEOUT_S });
      await db.destroy();
    },
  };
}

/** The last statement of the transaction running in this async context, sent with its COMMIT. */
const statementAtCommit = new AsyncLocalStorage<{ statement?: CompiledQuery }>();

/**
 * Runs `work` in one transaction whose last statement (what `work` returns as `last`) travels to
 * PostgreSQL in the same round trip as the COMMIT. PostgreSQL runs them in order: if the statement
 * fails, the transaction is aborted, the COMMIT only ends it, and the statement's error is thrown.
 * Used to store an idempotent answer at no extra round trip.
 */
export async function transactionEndingWith<Result>(
  db: Db,
  work: (tx: Tx) => Promise<{ result: Result; last: CompiledQuery }>,
): Promise<Result> {
  const slot: { statement?: CompiledQuery } = {};
  return statementAtCommit.run(slot, () =>
    db.transaction().execute(async (tx) => {
      const { result, last } = await work(tx);
      slot.statement = last;
      return result;
    }),
  );
}

/**
 * A connection that can hold statements back and send them, pipelined, with the next one: all
 * are written before any answer is awaited, so they cost one round trip. The first failure is
 * thrown (a statement after a failed one in a transaction is refused by PostgreSQL anyway).
 */
class PipeliningConnection implements DatabaseConnection {
  #held: CompiledQuery[] = [];

  constructor(readonly inner: DatabaseConnection) {}

  holdForNext(query: CompiledQuery): void {
    this.#held.push(query);
  }

  async executeQuery<Row>(query: CompiledQuery): Promise<QueryResult<Row>> {
    if (this.#held.length === 0) return this.inner.executeQuery<Row>(query);
    const batch = [...this.#held.splice(0), query];
    const results = await Promise.allSettled(batch.map((q) => this.inner.executeQuery<Row>(q)));
    for (const result of results) if (result.status === 'rejected') throw result.reason;
    return (results.at(-1) as PromiseFulfilledResult<QueryResult<Row>>).value;
  }

  streamQuery<Row>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<Row>> {
    return this.inner.streamQuery<Row>(query, chunkSize);
  }
}

/**
 * Every transaction saves a round trip: BEGIN goes with its first statement. A transaction run
 * by transactionEndingWith saves another: its last statement goes with the COMMIT.
 */
class PipeliningDriver implements Driver {
  constructor(private readonly inner: Driver) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new PipeliningConnection(await this.inner.acquireConnection());
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection((connection as PipeliningConnection).inner);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    if (settings.isolationLevel || settings.accessMode) return this.inner.beginTransaction(connection, settings);
    (connection as PipeliningConnection).holdForNext(CompiledQuery.raw('begin'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const slot = statementAtCommit.getStore();
    if (slot?.statement) {
      (connection as PipeliningConnection).holdForNext(slot.statement);
      slot.statement = undefined;
    }
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

class PipeliningDialect extends PostgresJSDialect {
  constructor(private readonly config: PostgresJSDialectConfig) {
    super(config);
  }

  override createDriver(): Driver {
    return new PipeliningDriver(new PostgresJSDriver(this.config));
  }
}

// The session is gone: the server ended it (FATAL, e.g. pg_terminate_backend) or the socket closed.
const SESSION_LOST = new Set(['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECTION_ENDED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

export function endsSession(error: unknown): boolean {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  return severity === 'FATAL' || severity === 'PANIC' || (typeof code === 'string' && SESSION_LOST.has(code));
}

/**
 * kysely runs each transaction on a reserved postgres.js connection. postgres.js 3.4.9 crashes the
 * whole process when a reserved connection is used after its session died (porsager/postgres#1208)
 * — and the ROLLBACK kysely sends after the failed statement is such a use — and releasing it
 * would hand the pool a connection without a socket. So once a reserved connection has lost its
 * session, further queries on it fail with the error that ended it, and it is not released: the
 * pool has already set it aside as closed and reconnects it when it needs it again.
 */
function guardReservedConnections<T extends Record<string, unknown>>(sql: postgres.Sql<T>, waitMs: number): postgres.Sql<T> {
  const reserve = async () => {
    const reserved = await reserveWithin(sql, waitMs);
    let lost: unknown;
    // Statements handed to this connection and not yet answered. A statement pipelined behind one
    // that must first be described waits in the reserved connection's own queue, which postgres.js
    // never fails when the session dies: such a statement is failed here with the session's error.
    const unanswered = new Set<(error: unknown) => void>();
    return new Proxy(reserved, {
      get(target, property, receiver) {
        if (property === 'unsafe') {
          return (...[text, parameters = [], options = {}]: Parameters<typeof target.unsafe>) => {
            if (lost !== undefined) return Promise.reject(lost);
            // kysely sends every statement through unsafe(), which postgres.js leaves unprepared:
            // then each parameterised statement costs two round trips (describe, then execute)
            // and a parse and plan in PostgreSQL. Prepared, the connection keeps the statement
            // and every later call is one round trip. kysely's SQL is a fixed set of texts.
            const query = target.unsafe(text, parameters, { prepare: true, ...options });
            return new Promise((resolve, reject) => {
              unanswered.add(reject);
              query.then(resolve, (error: unknown) => {
                if (endsSession(error) && lost === undefined) {
                  lost = error;
                  for (const failStranded of unanswered) failStranded(error);
                }
                reject(error);
              }).finally(() => unanswered.delete(reject));
            });
          };
        }
        if (property === 'release') {
          return () => {
            if (lost === undefined) target.release();
          };
        }
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
  };
  return new Proxy(sql, {
    get: (target, property, receiver) => (property === 'reserve' ? reserve : (Reflect.get(target, property, receiver) as unknown)),
  });
}

/**
 * sql.reserve(), bounded: a request waits at most `waitMs` for a connection (then CONNECT_TIMEOUT,
 * answered 503). postgres.js 3.4.9 strands a queued reserve() for good when the connection it was
 * about to get is closed by the server (porsager/postgres#1195): unbounded, every request that
 * queued behind a terminated connection hung forever, and the pool with it. A stranded request is
 * never served, so one still waiting asks again every ASK_AGAIN_MS and takes whichever answer
 * comes first; a connection that arrives after that (or after the deadline) goes straight back to
 * the pool. The first failure (e.g. the database refusing connections) fails the request at once.
 */
const ASK_AGAIN_MS = 200;

function reserveWithin<T extends Record<string, unknown>>(sql: postgres.Sql<T>, waitMs: number): Promise<postgres.ReservedSql<T>> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = () => {
      settled = true;
      clearTimeout(deadline);
      clearInterval(again);
    };
    const ask = () =>
      sql.reserve().then(
        (reserved) => {
          if (settled) return reserved.release();
          settle();
          resolve(reserved);
        },
        (error: unknown) => {
          if (settled) return;
          settle();
          reject(error);
        },
      );
    const deadline = setTimeout(() => {
      settle();
      reject(Object.assign(new Error(`no database connection within ${waitMs} ms`), { code: 'CONNECT_TIMEOUT' }));
    }, waitMs);
    const again = setInterval(ask, ASK_AGAIN_MS);
    void ask();
  });
}
