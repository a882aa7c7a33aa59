import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Db, Tx } from '../db/database.js';
import type { LedgerEntry, LedgerKind, User } from '../db/schema.js';
import { insertNotificationsSql, type NoteToSend } from '../notifications/repository.js';
import type { VersionCondition } from '../domain/versions.js';

export function findUser(db: Db | Tx, id: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

type CreditMove = { userId: string; amount: number; kind: LedgerKind; orderId?: string; topUpId?: string };

/**
 * The two CTEs of a credit move: `debited` changes the balance only if it stays non-negative and
 * `when` holds, and `moved` writes its ledger row (none when the
 * balance was short). The conditions are in the UPDATE's WHERE, so a concurrent move of the same
 * user is waited for and the conditions are checked again on the balance it left.
 */
export function creditMoveSql(move: CreditMove, when: RawBuilder<SqlBool> = sql<SqlBool>`true`): RawBuilder<unknown> {
  return sql`debited AS (
      UPDATE users SET credit = credit + ${move.amount}, version = version + 1
      WHERE id = ${move.userId} AND credit + ${move.amount} >= 0 AND ${when}
      RETURNING id, credit),
    moved AS (
      INSERT INTO credit_ledger (user_id, kind, amount, balance_after, order_id, top_up_id)
      SELECT id, ${move.kind}, ${move.amount}, credit, ${move.orderId ?? null}, ${move.topUpId ?? null} FROM debited
      RETURNING *)`;
}

/**
 * Moves credit and writes its ledger row in one statement: the balance changes only if it stays
 * non-negative, and every change has its row. Undefined when the balance would go negative.
 * `notes` (what the move tells its users) are inserted by the same statement, only if it moved.
 */
export async function moveCredit(tx: Tx, move: CreditMove, notes: NoteToSend[] = []): Promise<LedgerEntry | undefined> {
  const notify = notes.length ? sql`, notified AS (${insertNotificationsSql(notes, sql`EXISTS (SELECT FROM debited)`)})` : sql``;
  const result = await sql<LedgerEntry>`WITH ${creditMoveSql(move)}${notify} SELECT * FROM moved`.execute(tx);
  return result.rows[0];
}

/**
 * moveCredit for many credits at once (a sweeper's refunds): each move is its own ledger row, with
 * the balance after it in the order given, and each user's balance rises by the sum of their
 * moves, in one statement whatever the count. Credits only (amount > 0): a balance that only rises
 * cannot go negative part-way. The users' rows are locked first in id order, so two transactions
 * crediting overlapping sets of users wait for each other instead of deadlocking.
 */
export async function creditMany(
  tx: Tx,
  moves: { userId: string; amount: number; kind: LedgerKind; orderId: string | null }[],
): Promise<void> {
  if (moves.length === 0) return;
  if (moves.some((m) => !(m.amount > 0) || !Number.isInteger(m.amount))) throw new Error('creditMany moves positive whole amounts only');
  const userIds = moves.map((m) => m.userId);
  if (new Set(userIds).size > 1) {
    // FOR NO KEY UPDATE: the lock the UPDATE below takes anyway, which (unlike FOR UPDATE) lets
    // other transactions' foreign-key checks on these users (a join notifying a creator) go on.
    await sql`SELECT 1 FROM users WHERE id = ANY(${userIds}::uuid[]) ORDER BY id FOR NO KEY UPDATE`.execute(tx);
  }
  await sql`
    WITH moves AS (
      SELECT * FROM unnest(${userIds}::uuid[], ${moves.map((m) => m.amount)}::bigint[],
                           ${moves.map((m) => m.kind)}::text[], ${moves.map((m) => m.orderId)}::uuid[])
                    WITH ORDINALITY AS m(user_id, amount, kind, order_id, seq)),
    credited AS (
      UPDATE users u SET credit = u.credit + t.total, version = u.version + t.n
      FROM (SELECT user_id, sum(amount) AS total, count(*)::int AS n FROM moves GROUP BY user_id) t
      WHERE u.id = t.user_id AND u.id = ANY(${userIds}::uuid[])
      RETURNING u.id, u.credit)
    INSERT INTO credit_ledger (user_id, kind, amount, balance_after, order_id)
    SELECT m.user_id, m.kind, m.amount,
           c.credit - coalesce(sum(m.amount) OVER (PARTITION BY m.user_id ORDER BY m.seq
                                                  ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), 0),
           m.order_id
    FROM moves m JOIN credited c ON c.id = m.user_id
    ORDER BY m.seq`.execute(tx);
}

/**
 * A new user with the sign-up grant; undefined when `email` is already another user's (a user
 * without an email never conflicts).
 */
export async function createUser(tx: Tx, email: string | null, name: string, grant: number): Promise<User | undefined> {
  const created = await tx
    .insertInto('users')
    .values({ id: uuidv7(), email, name })
    .onConflict((oc) => oc.column('email').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!created) return undefined;
  if (grant > 0) await moveCredit(tx, { userId: created.id, amount: grant, kind: 'signup_grant' });
  return tx.selectFrom('users').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
}

export function findUserByEmail(db: Db | Tx, email: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
}

/** First login creates the user and grants the sign-up credit; later logins find them. */
export async function findOrCreateUser(tx: Tx, email: string, name: string, grant: number): Promise<User> {
  return (await createUser(tx, email, name, grant)) ?? (await findUserByEmail(tx, email))!;
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
  if (!condition.any) query = query.where(sql<SqlBool>`version = ANY(${condition.versions}::int[])`);
  return query.returningAll().executeTakeFirst();
}

export function listLedger(db: Db, userId: string, beforeId: number | undefined, limit: number): Promise<LedgerEntry[]> {
  let query = db.selectFrom('credit_ledger').selectAll().where('user_id', '=', userId);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return query
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute();
}
