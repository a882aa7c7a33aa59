/**
 * The embedded PostgreSQL from a private folder: `npm start` in a checkout under root's 0700 home.
 * As root, PostgreSQL runs as the postgres user, which cannot traverse a 0700 directory of root's;
 * the data must then live where that user can reach it, and stay there across restarts. As any
 * other user the same start and restart simply work in the requested directory.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { expect, it } from 'vitest';
import { ROOT_FALLBACK_DIR, startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.js';
import { freePort } from '../support/urls.js';

const asRoot = userInfo().uid === 0;

async function query<T extends object>(server: EmbeddedServer, run: (sql: postgres.Sql) => Promise<T[]>): Promise<T[]> {
  const sql = postgres(server.url, { max: 1, onnotice: () => {} });
  try {
    return await run(sql);
  } finally {
    await sql.end();
  }
}

it(`starts with its data inside a 0700 directory and keeps it across a restart (${asRoot ? 'as root' : 'not root'})`, async () => {
  // mkdtemp makes the directory 0700, as root's home is.
  const privateDir = await mkdtemp(path.join(tmpdir(), 'co-order-private-'));
  const dataDir = path.join(privateDir, 'co-order', '.data', 'postgres');
  let server: EmbeddedServer | undefined;
  const used = new Set<string>();
  try {
    expect((await stat(privateDir)).mode & 0o777).toBe(0o700);

    server = await startEmbeddedPostgres(dataDir, await freePort());
    used.add(server.dataDir);
    if (asRoot) {
      // The postgres user cannot get through privateDir: the data lives in root's fallback.
      expect(path.dirname(path.dirname(server.dataDir))).toBe(ROOT_FALLBACK_DIR);
    } else {
      expect(server.dataDir).toBe(dataDir);
    }
    await query(server, (sql) => sql`CREATE TABLE kept (note text)`);
    await query(server, (sql) => sql`INSERT INTO kept VALUES ('before the restart')`);
    await server.stop();
    server = undefined;

    server = await startEmbeddedPostgres(dataDir, await freePort());
    used.add(server.dataDir);
    expect([...used]).toHaveLength(1);
    expect(await query(server, (sql) => sql<{ note: string }[]>`SELECT note FROM kept`)).toEqual([{ note: 'before the restart' }]);
    await server.stop();
    server = undefined;

    // Nothing was opened up on the way: the private directory is as private as it was.
    expect((await stat(privateDir)).mode & 0o777).toBe(0o700);
  } finally {
    await server?.stop();
    await rm(privateDir, { recursive: true, force: true });
    for (const dir of used) {
      if (dir.startsWith(`${ROOT_FALLBACK_DIR}${path.sep}`)) await rm(dir, { recursive: true, force: true });
    }
  }
});
