import { sql, type CompiledQuery } from 'kysely';
import type { Db, Tx } from '../db/database.js';
import { compiledOnce, precompiled } from '../db/precompiled.js';
/** An answer as kept with its key: the status, the exact body text and the headers to replay. */
export interface StoredAnswer {
  fingerprint: string;
  status: number;
  bodyText: string;
  headers: Record<string, string>;
}

// Every keyed action runs both: built and compiled once, not per request.
const findAnswerStatement = precompiled((db, p: { userId: string; key: string }) =>
  db
    .selectFrom('idempotency_keys')
    .select(['fingerprint', 'response_status', 'response_body', 'response_headers'])
    .where('user_id', '=', p.userId)
    .where('key', '=', p.key),
);

/** The replay path: one read by primary key. */
export async function findAnswer(db: Db | Tx, userId: string, key: string): Promise<StoredAnswer | undefined> {
  const [row] = await findAnswerStatement(db, { userId, key });
  return (
    row && {
      fingerprint: row.fingerprint,
      status: row.response_status,
      bodyText: row.response_body,
      headers: row.response_headers,
    }
  );
}

const claimStatementOf = compiledOnce(
  (db, p: { userId: string; key: string; fingerprint: string; status: number; bodyText: string; headers: Record<string, string> }) =>
    db.insertInto('idempotency_keys').values({
      user_id: p.userId,
      key: p.key,
      fingerprint: p.fingerprint,
      response_status: p.status,
      response_body: p.bodyText,
      response_headers: p.headers,
    }),
);

/**
 * The statement that claims the key with its answer. It fails with a unique violation (see
 * isKeyTaken) when the key is already taken: a concurrent duplicate committed first (the insert
 * waits on the unique index until that transaction ends).
 */
export function claimStatement(claim: {
  userId: string;
  key: string;
  fingerprint: string;
  response: Omit<StoredAnswer, 'fingerprint'>;
}): CompiledQuery {
  const { userId, key, fingerprint, response } = claim;
  return claimStatementOf({ userId, key, fingerprint, ...response });
}

export function isKeyTaken(error: unknown): boolean {
  const { code, constraint_name } = (error ?? {}) as { code?: unknown; constraint_name?: unknown };
  return code === '23505' && constraint_name === 'idempotency_keys_pkey';
}

/** Deletes up to `batchSize` keys older than the retention; safe on every instance at once. */
export async function purgeExpiredKeys(db: Db, retentionHours: number, batchSize: number): Promise<number> {
  const result = await sql<{ deleted: number }>`
    WITH doomed AS (
      SELECT user_id, key FROM idempotency_keys
      WHERE created_at < now() - make_interval(hours => ${retentionHours})
      ORDER BY created_at
      LIMIT ${batchSize}
      FOR UPDATE SKIP LOCKED)
    DELETE FROM idempotency_keys k USING doomed
    WHERE k.user_id = doomed.user_id AND k.key = doomed.key`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
