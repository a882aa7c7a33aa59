import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  type Transaction,
  type TransactionSettings,
} from 'kysely';
import type postgres from 'postgres';
import { reserveGuarded } from './postgres-js-workarounds.js';

/** kysely's PostgreSQL dialect on PostgresDriver. */
export function postgresJsDialect(sql: postgres.Sql, reserveWaitMs: number): Dialect {
  const driver = new PostgresDriver(sql, reserveWaitMs);
  return {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => driver,
    createIntrospector: (kysely) => new PostgresIntrospector(kysely),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  };
}

/**
 * Hands `statements` to the transaction's connection, which writes them just before the next
 * statement it sends — the COMMIT, when called as the transaction's work ends — so they travel in
 * the same round trip. A failure among them fails the COMMIT, and kysely then rolls back.
 */
export async function holdForCommit<DB>(tx: Transaction<DB>, statements: readonly CompiledQuery[]): Promise<void> {
  await tx.getExecutor().provideConnection(async (connection) => {
    if (!(connection instanceof Connection)) throw new TypeError('holdForCommit needs a transaction of postgresJsDialect');
    for (const statement of statements) connection.holdForNext(statement);
  });
}

/**
 * kysely's driver over postgres.js. Each statement, or each transaction, runs on a connection it
 * reserves (bounded and guarded: reserveGuarded). A transaction saves round trips: BEGIN goes with
 * its first statement, and statements handed to holdForCommit with its COMMIT.
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
      numAffectedRows:
        command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE' ? BigInt(count) : undefined,
    };
  }
}
