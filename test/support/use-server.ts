/**
 * The set-up most black-box files share: a database of the file's own, cloned from the template,
 * and the real service started on it, made before the file's first test and removed after its
 * last. Call these at the top level of a test file; the fields of what they return are set in
 * beforeAll, so read them in hooks and tests, never while the file is being collected.
 *
 * The hooks are registered where the call stands: a beforeAll the file adds after the call runs
 * once the server is up, and an afterAll it adds runs before the server stops (vitest runs
 * afterAll hooks last registered first), so what a file opens on top can be closed while the
 * server and the database are still there.
 */
import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from './database.js';
import { startServer, type RunningServer } from './server.js';
import { startStatementTap, type StatementTap } from './statement-tap.js';

/** Environment variables for the service (see startServer): undefined leaves a variable out. */
export type ServerEnv = Record<string, string | undefined>;

export interface WithDatabase {
  db: TestDatabase;
}

export interface WithServer extends WithDatabase {
  server: RunningServer;
}

export interface WithTappedServer extends WithServer {
  /** Between the service and its database: every statement the service sends, and its round trips. */
  tap: StatementTap;
}

/** A database of this file's own, dropped after its last test. */
export function useDatabase(): WithDatabase {
  const set = {} as WithDatabase;
  beforeAll(async () => {
    set.db = await createTestDatabase();
  });
  afterAll(async () => {
    await set.db?.drop();
  });
  return set;
}

/** A database of this file's own and one service on it, started with `env`. */
export function useServer(env: ServerEnv = {}): WithServer {
  const set = useDatabase() as WithServer;
  beforeAll(async () => {
    set.server = await startServer(set.db.url, env);
  });
  afterAll(async () => {
    await set.server?.stop();
  });
  return set;
}

/**
 * As useServer, but the service talks to its database through a statement tap, so that a test can
 * count and read what it sends. The tap closes after the service has stopped.
 */
export function useTappedServer(env: ServerEnv = {}, tap: Parameters<typeof startStatementTap>[1] = {}): WithTappedServer {
  const set = useDatabase() as WithTappedServer;
  beforeAll(async () => {
    set.tap = await startStatementTap(set.db.url, tap);
    set.server = await startServer(set.tap.url, env);
  });
  afterAll(async () => {
    await set.server?.stop();
    await set.tap?.close();
  });
  return set;
}
