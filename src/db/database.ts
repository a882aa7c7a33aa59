import {
  CompiledQuery, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler,
  type DatabaseConnection, type Driver, type QueryResult, type Transaction, type TransactionSettings,
} from 'kysely';
import { connect, type Socket } from 'node:net';
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
    // A documented option (a function that returns the socket) that postgres.js's types leave out.
    ...({ socket: connectWithoutDelay } as object),
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
  const driver = new PostgresDriver(sql, options.connectTimeoutS * 1000);
  const db = new Kysely<Database>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => driver,
      createIntrospector: (kysely) => new PostgresIntrospector(kysely),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
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

/**
 * The connection to PostgreSQL with Nagle's algorithm off. postgres.js (3.4.9) leaves it on, and
 * writes a message of 1 KiB or more at once, the rest on the next turn of its event loop: the
 * second write then waited for the server to acknowledge the first, which it does with its answer.
 * An idempotent answer of an order with its items passes 1 KiB, and the COMMIT sent with it came
 * a whole round trip late. postgres.js starts the startup exchange on a socket it is handed at
 * once; Node holds the writes until the connection is made.
 */
function connectWithoutDelay(options: { host: string[]; port: number[]; path?: string | false }): Socket {
  if (options.path) return connect({ path: options.path });
  return connect({ host: options.host[0], port: options.port[0], noDelay: true });
}

/** Statements handed to a transaction that its connection sends with the next one, the COMMIT. */
const sentWithCommit = new WeakSet<CompiledQuery>();

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
  return db.transaction().execute(async (tx) => {
    const { result, last } = await work(tx);
    sentWithCommit.add(last);
    await tx.executeQuery(last);
    return result;
  });
}

/**
 * kysely's driver over postgres.js. Each statement, or each transaction, runs on a connection it
 * reserves (bounded and guarded: reserveGuarded). A transaction saves round trips: BEGIN goes with
 * its first statement, and a statement from transactionEndingWith with its COMMIT.
 *
 * Statements outside transactions stay on reserved connections rather than postgres.js's pool
 * queue: while the database refuses connections, postgres.js 3.4.9 leaves pool statements queued
 * for good (race scenario 7 hung), which reserveWithin bounds.
 */
class PostgresDriver implements Driver {
  constructor(
    private readonly sql: postgres.Sql,
    private readonly reserveWaitMs: number,
  ) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new Connection(await reserveGuarded(this.sql, this.reserveWaitMs));
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const begin = ['start transaction', settings.isolationLevel && `isolation level ${settings.isolationLevel}`, settings.accessMode];
    (connection as Connection).holdForNext(CompiledQuery.raw(begin.filter(Boolean).join(' ')));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as Connection).release();
  }

  // The pool is ended by DatabaseHandle.close, with its timeout.
  async destroy(): Promise<void> {}
}

class Connection implements DatabaseConnection {
  // Held back to go with the next statement: all are written before any answer is awaited.
  #held: CompiledQuery[] = [];

  constructor(private readonly reserved: postgres.ReservedSql) {}

  holdForNext(query: CompiledQuery): void {
    this.#held.push(query);
  }

  release(): void {
    this.reserved.release();
  }

  async executeQuery<Row>(query: CompiledQuery): Promise<QueryResult<Row>> {
    if (sentWithCommit.has(query)) {
      this.holdForNext(query);
      return { rows: [] };
    }
    if (this.#held.length === 0) return this.#send<Row>(query);
    const batch = [...this.#held.splice(0), query];
    const results = await Promise.allSettled(batch.map((q) => this.#send<Row>(q)));
    // The first failure is the cause: PostgreSQL refuses what follows it in a transaction.
    for (const result of results) if (result.status === 'rejected') throw result.reason;
    return (results.at(-1) as PromiseFulfilledResult<QueryResult<Row>>).value;
  }

  async *streamQuery<Row>(query: CompiledQuery, chunkSize = 100): AsyncIterableIterator<QueryResult<Row>> {
    const cursor = this.reserved.unsafe(query.sql, [...query.parameters] as postgres.ParameterOrJSON<never>[]).cursor(chunkSize);
    for await (const rows of cursor) yield { rows: rows as Row[] };
  }

  async #send<Row>(query: CompiledQuery): Promise<QueryResult<Row>> {
    // Prepared: postgres.js would otherwise leave kysely's statements unprepared, each then costing
    // a describe round trip and a parse and plan in PostgreSQL. kysely's SQL is a fixed set of texts.
    const result = await this.reserved.unsafe(query.sql, [...query.parameters] as postgres.ParameterOrJSON<never>[], { prepare: true });
    const { command, count } = result;
    return {
      // postgres.js's result is an array of the rows (with a few extra properties): used as is.
      rows: result as unknown as Row[],
      numAffectedRows: command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE' ? BigInt(count) : undefined,
    };
  }
}

// The session is gone: the server ended it (FATAL, e.g. pg_terminate_backend) or the socket closed.
const SESSION_LOST = new Set(['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECTION_ENDED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

export function endsSession(error: unknown): boolean {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  return severity === 'FATAL' || severity === 'PANIC' || (typeof code === 'string' && SESSION_LOST.has(code));
}

/**
 * A reserved connection (reserveWithin) guarded against postgres.js 3.4.9 crashing the whole
 * process when a reserved connection is used after its session died (porsager/postgres#1208) —
 * and the ROLLBACK after the failed statement is such a use — or being released without a socket.
 * Once its session is lost, further statements fail with the error that ended it, it is not
 * released (the pool has already set it aside as closed and reconnects it when needed), and
 * statements still waiting on it fail too: one pipelined behind a statement that must first be
 * described waits in the reserved connection's own queue, which postgres.js never fails.
 */
async function reserveGuarded(pool: postgres.Sql, waitMs: number): Promise<postgres.ReservedSql> {
  const reserved = await reserveWithin(pool, waitMs);
  let lost: unknown;
  const unanswered = new Set<(error: unknown) => void>();
  return new Proxy(reserved, {
    get(target, property, receiver) {
      if (property === 'unsafe') {
        return (...args: Parameters<typeof target.unsafe>) => {
          if (lost !== undefined) return Promise.reject(lost);
          const query = target.unsafe(...args);
          return new Promise((resolve, reject) => {
            unanswered.add(reject);
            query
              .then(resolve, (error: unknown) => {
                if (endsSession(error) && lost === undefined) {
                  lost = error;
                  for (const failStranded of unanswered) failStranded(error);
                }
                reject(error);
              })
              .finally(() => unanswered.delete(reject));
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
}

/**
 * sql.reserve(), bounded: a request waits at most `waitMs` for a connection (then POOL_EXHAUSTED,
 * answered 503 overloaded). postgres.js 3.4.9 strands a queued reserve() for good when the connection it was
 * about to get is closed by the server (porsager/postgres#1195): unbounded, every request that
 * queued behind a terminated connection hung forever, and the pool with it. A stranded request is
 * never served, so one still waiting asks again every ASK_AGAIN_MS and takes whichever answer
 * comes first; a connection that arrives after that (or after the deadline) goes straight back to
 * the pool. The first failure (e.g. the database refusing connections) fails the request at once.
 */
const ASK_AGAIN_MS = 200;
// The pool's own connect timeout (postgres.js's connect_timeout, the same length) fires first when
// a new connection cannot be made: only a wait for a busy pool's connection ends in POOL_EXHAUSTED.
const CONNECT_ERROR_FIRST_MS = 250;
/** The code of the error a request gets when no pooled connection came free in time. */
export const POOL_EXHAUSTED = 'POOL_EXHAUSTED';

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
      reject(Object.assign(new Error(`no database connection came free within ${waitMs} ms`), { code: POOL_EXHAUSTED }));
    }, waitMs + CONNECT_ERROR_FIRST_MS);
    const again = setInterval(ask, ASK_AGAIN_MS);
    void ask();
  });
}
