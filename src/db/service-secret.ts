import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from './database.js';

const SECRET_BYTES = 32;

/**
 * The database's own random secret, made on first use: every instance on one database reads the
 * same one (the first insert wins), and no two databases share one.
 */
export async function serviceSecret(db: Db, name = 'service'): Promise<Uint8Array> {
  await sql`INSERT INTO service_secrets (name, secret) VALUES (${name}, ${randomBytes(SECRET_BYTES)})
            ON CONFLICT (name) DO NOTHING`.execute(db);
  const { rows } = await sql<{ secret: Uint8Array }>`SELECT secret FROM service_secrets WHERE name = ${name}`.execute(db);
  return rows[0].secret;
}
