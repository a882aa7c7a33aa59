import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from './database.js';

const SECRET_BYTES = 32;

/**
 * The database's own secret named `name`, made by `make` on first use: every instance on one
 * database reads the same one (the first insert wins), and no two databases share one.
 */
export async function serviceSecret(
  db: Db,
  name: string,
  make: () => Uint8Array | Promise<Uint8Array> = () => randomBytes(SECRET_BYTES),
): Promise<Uint8Array> {
  const { rows: found } = await sql<{ secret: Uint8Array }>`SELECT secret FROM service_secrets WHERE name = ${name}`.execute(db);
  if (found[0]) return found[0].secret;
  await sql`INSERT INTO service_secrets (name, secret) VALUES (${name}, ${await make()}) ON CONFLICT (name) DO NOTHING`.execute(db);
  const { rows } = await sql<{ secret: Uint8Array }>`SELECT secret FROM service_secrets WHERE name = ${name}`.execute(db);
  return rows[0].secret;
}
