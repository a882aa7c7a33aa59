import { sql } from 'kysely';
import type { Db, Tx } from '../db/database.js';
import type { StoredResponse } from './problem.js';

export interface StoredAnswer extends StoredResponse {
  fingerprint: string;
}

/** The replay path: one read by primary key. */
export async function findAnswer(db: Db | Tx, userId: string, key: string): Promise<StoredAnswer | undefined> {
  const row = await db
    .selectFrom('idempotency_keys')
    .select(['fingerprint', 'response_status', 'response_body', 'response_headers'])
    .where('user_id', '=', userId)
    .where('key', '=', key)
    .executeTakeFirst();
  return (
    row && {
      fingerprint: row.fingerprint,
      status: row.response_status,
      bodyText: row.response_body,
      headers: row.response_headers,
    }
  );
}

/**
 * Claims the key with its answer. False when the key is already taken: a concurrent duplicate
 * committed first (the insert waits on the unique index until that transaction ends).
 */
export async function claimKey(
  db: Db | Tx,
  claim: { userId: string; key: string; fingerprint: string; response: StoredResponse },
): Promise<boolean> {
  const inserted = await db
    .insertInto('idempotency_keys')
    .values({
      user_id: claim.userId,
      key: claim.key,
      fingerprint: claim.fingerprint,
      response_status: claim.response.status,
      response_body: claim.response.bodyText,
      response_headers: claim.response.headers,
    })
    .onConflict((oc) => oc.columns(['user_id', 'key']).doNothing())
    .returning('key')
    .executeTakeFirst();
  return inserted !== undefined;
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
