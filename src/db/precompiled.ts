import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
  type QueryExecutorProvider,
} from 'kysely';
import type { Db, Tx } from './database.js';
import type { Database } from './schema.js';

// Builds and compiles statements without a connection (kysely's DummyDriver), with the same
// PostgreSQL compiler as the service's own Kysely: the SQL text is the one it would send.
const builder = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

/** A query builder or a sql`` template (which compiles against an executor provider). */
interface Statement<Row> {
  compile(executorProvider: QueryExecutorProvider): CompiledQuery<Row>;
}

/**
 * A statement built and compiled once, at import, then run with each call's parameters. kysely
 * otherwise rebuilds and recompiles the same query (immutable node trees, frozen at every step)
 * on every call, which on a hot read costs more CPU than sending it.
 *
 * `build` gets stand-ins for the parameters: it must hand each one it reads to kysely as a value
 * (it becomes a `$n` parameter) and neither branch nor compute on it — whatever it builds is the
 * one statement every call sends. A parameter read but not found among the statement's is refused.
 */
export function precompiled<Params extends Record<string, unknown>, Row>(
  build: (db: Kysely<Database>, params: Params) => Statement<Row>,
): (db: Db | Tx, params: Params) => Promise<Row[]> {
  const withParams = compiledOnce(build);
  return async (db, params) => (await db.executeQuery<Row>(withParams(params))).rows;
}

/** The statement of `precompiled`, for a call to hand on (e.g. to send with a COMMIT) rather than run. */
export function compiledOnce<Params extends Record<string, unknown>, Row>(
  build: (db: Kysely<Database>, params: Params) => Statement<Row>,
): (params: Params) => CompiledQuery<Row> {
  const read = new Set<string>();
  const standIns = new Proxy({} as Params, {
    get(_, name) {
      if (typeof name !== 'string') return undefined;
      read.add(name);
      return standIn(name);
    },
  });
  const compiled = build(builder, standIns).compile(builder);
  // For each parameter of the statement: the name it is filled from, or null for a constant of the query.
  const sources = compiled.parameters.map((value) => [...read].find((name) => value === standIn(name)) ?? null);
  for (const name of read) {
    if (!sources.includes(name)) throw new Error(`precompiled statement uses "${name}" other than as a parameter: ${compiled.sql}`);
  }
  return (params) => ({ ...compiled, parameters: sources.map((name, i) => (name === null ? compiled.parameters[i] : params[name])) });
}

const standIn = (name: string) => `\u0000parameter ${name} of a precompiled statement\u0000`;
