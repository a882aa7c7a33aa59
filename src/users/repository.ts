import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Db, Tx } from '../db/database.js';
import type { LedgerEntry, LedgerKind, User } from '../db/schema.js';
import type { VersionCondition } from '../http/etag.js';

export function findUser(db: Db | Tx, id: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Moves credit and writes its ledger row in one statement: the balance changes only if it stays
 * non-negative, and every change has its row. Undefined when the balance would go negative.
 */
export async function moveCredit(
  tx: Tx,
  move: { userId: string; amount: number; kind: LedgerKind; orderId?: string },
): Promise<LedgerEntry | undefined> {
  const result = await sql<LedgerEntry>`
    WITH debited AS (
      UPDATE users SET credit = credit + ${move.amount}, version = version + 1
      WHERE id = ${move.userId} AND credit + ${move.amount} >= 0
      RETURNING id, credit)
    INSERT INTO credit_ledger (user_id, kind, amount, balance_after, order_id)
    SELECT id, ${move.kind}, ${move.amount}, credit, ${move.orderId ?? null} FROM debited
    RETURNING *`.execute(tx);
  return result.rows[0];
}

/** First login creates the user and grants the sign-up credit; later logins find them. */
export async function findOrCreateUser(tx: Tx, email: string, name: string, grant: number): Promise<User> {
  const created = await tx
    .insertInto('users')
    .values({ id: uuidv7(), email, name })
    .onConflict((oc) => oc.column('email').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!created) {
    return tx.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirstOrThrow();
  }
  if (grant > 0) await moveCredit(tx, { userId: created.id, amount: grant, kind: 'signup_grant' });
  return tx.selectFrom('users').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
}

/** Compare-and-set on the user's version; undefined when the version did not match. */
export function updateAddress(
  tx: Tx,
  userId: string,
  condition: VersionCondition,
  address: { address: string; lat: number; lon: number },
): Promise<User | undefined> {
  let query = tx
    .updateTable('users')
    .set((eb) => ({ ...address, version: eb('version', '+', 1) }))
    .where('id', '=', userId);
  if (!condition.any) query = query.where('version', 'in', condition.versions.length ? condition.versions : [0]);
  return query.returningAll().executeTakeFirst();
}

export function listLedger(db: Db, userId: string, beforeId: number | undefined, limit: number): Promise<LedgerEntry[]> {
  let query = db.selectFrom('credit_ledger').selectAll().where('user_id', '=', userId);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return query.orderBy('id', 'desc').limit(limit + 1).execute();
}
