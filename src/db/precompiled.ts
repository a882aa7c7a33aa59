import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, type Compilable } from 'kysely';
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

/**
 * A statement built and compiled once, at import, then run with each call's arguments. kysely
 * otherwise rebuilds and recompiles the same query (immutable node trees, frozen at every step)
 * on every call, which on a hot read costs more CPU than sending it. `build` receives stand-ins
 * for its arguments and must pass each to kysely as a value (it becomes a `$n` parameter), not
 * branch on it: whatever it builds is the one statement every call sends.
 */
export function precompiled<Args extends unknown[], Row>(
  build: (db: Kysely<Database>, ...args: Args) => Compilable<Row>,
): (db: Db | Tx, ...args: Args) => Promise<Row[]> {
  const arity = build.length - 1;
  const standIns = Array.from({ length: arity }, (_, i) => `\u0000argument ${i} of a precompiled statement\u0000`);
  const compiled = build(builder, ...(standIns as Args)).compile();
  // For each parameter of the statement: which argument fills it (-1: a constant of the query).
  const sources = compiled.parameters.map((value) => standIns.indexOf(value as string));
  for (let i = 0; i < arity; i++) {
    if (!sources.includes(i)) throw new Error(`precompiled statement does not use its argument ${i} as a parameter: ${compiled.sql}`);
  }
  return async (db, ...args) => {
    const parameters = sources.map((source, i) => (source < 0 ? compiled.parameters[i] : args[source]));
    const { rows } = await db.executeQuery<Row>({ ...compiled, parameters });
    return rows;
  };
}
