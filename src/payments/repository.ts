import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Db, Tx } from '../db/database.js';
import type { LedgerEntry, TopUp } from '../db/schema.js';
import { moveCredit } from '../users/repository.js';
import { endedUncaptured, type UncapturedEndStatus } from './provider.js';

/** A top-up with the ledger row that credited it (none until it succeeded). */
export interface TopUpWithEntry {
  topUp: TopUp;
  entry: LedgerEntry | undefined;
}

/** A new top-up awaiting its payment; our idempotency key at the provider is fixed now, once. */
export function createTopUp(tx: Tx, userId: string, amount: number): Promise<TopUp> {
  const id = uuidv7();
  return tx
    .insertInto('top_ups')
    .values({ id, user_id: userId, amount, provider_key: `top-up-${id}`, created_at: new Date(), updated_at: new Date() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * The one place a top-up credits its wallet: the ledger row names the top-up, and the unique index
 * on credit_ledger.top_up_id lets that row exist once, whichever path (confirm, webhook, settler)
 * gets here. Limits on money coming in (a balance cap) belong here, in front of the move.
 */
export async function creditTopUp(tx: Tx, topUp: TopUp): Promise<LedgerEntry> {
  // A credit never takes a balance below zero, and the user exists (top_ups references them).
  return (await moveCredit(tx, { userId: topUp.user_id, amount: topUp.amount, kind: 'top_up', topUpId: topUp.id }))!;
}

/** The user's balance, their row locked until the transaction ends (so a credit cannot slip past a check). */
export async function lockedBalance(tx: Tx, userId: string): Promise<number> {
  const { credit } = await tx.selectFrom('users').select('credit').where('id', '=', userId).forNoKeyUpdate().executeTakeFirstOrThrow();
  return credit;
}

/** Demo mode (no provider configured): a top-up that succeeds as it is made, credited at once. */
export async function createDemoTopUp(tx: Tx, userId: string, amount: number): Promise<TopUpWithEntry> {
  const made = await createTopUp(tx, userId, amount);
  const topUp = await tx
    .updateTable('top_ups')
    .set({ status: 'succeeded', demo: true, settled_at: sql`now()`, updated_at: sql`now()` })
    .where('id', '=', made.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return { topUp, entry: await creditTopUp(tx, topUp) };
}

/** The caller's top-up, locked for the rest of the transaction; undefined if it is not theirs. */
export function lockUsersTopUp(tx: Tx, userId: string, id: string): Promise<TopUp | undefined> {
  return tx.selectFrom('top_ups').selectAll().where('id', '=', id).where('user_id', '=', userId).forUpdate().executeTakeFirst();
}

/**
 * The recovery point before the provider is asked: processing, with the payment key, and when the
 * settler should ask the provider if nobody has settled it by then.
 */
export function markProcessing(tx: Tx, id: string, paymentKey: string, settleAfterSeconds: number): Promise<TopUp> {
  return tx
    .updateTable('top_ups')
    .set({
      status: 'processing',
      payment_key: paymentKey,
      next_check_at: sql`now() + make_interval(secs => ${settleAfterSeconds})`,
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** What the provider said about a payment, as a settlement of its top-up. */
export type Verdict =
  | { kind: 'done'; paymentKey: string; totalAmount: number }
  /** The provider's answer to our confirm refused it, and said why. */
  | { kind: 'refused'; code: string; message: string }
  /** The payment's status (a webhook, a lookup) says it ended uncaptured; it does not say why. */
  | { kind: 'ended'; status: UncapturedEndStatus };

/** What a failed top-up shows: the provider's reason when it gave one, else its status. */
function failureOf(verdict: Verdict, amount: number): { code: string; message: string } {
  if (verdict.kind === 'done') {
    return { code: 'amount_mismatch', message: `The provider captured ${verdict.totalAmount} KRW for a top-up of ${amount} KRW.` };
  }
  if (verdict.kind === 'refused') return { code: verdict.code, message: verdict.message };
  return { code: verdict.status, message: `The payment was ${verdict.status.toLowerCase()}.` };
}

export type Settlement = TopUpWithEntry & {
  /** This call changed the top-up (false: someone settled it first, or it was settled already). */
  changed: boolean;
  /** DONE at the provider for another amount than ours: not credited; needs a person. */
  amountMismatch?: { captured: number };
};

/**
 * Phase two: records the provider's verdict on a top-up, and on DONE credits the wallet, in the
 * caller's transaction. Whoever comes second (confirm, webhook, settler in any order) finds it
 * settled and changes nothing, but for the reason of a refusal, which replaces a bare status. DONE
 * wins over an earlier failure: money the provider captured is always credited. DONE for another
 * amount is never credited.
 */
export async function settleTopUp(tx: Tx, id: string, verdict: Verdict): Promise<Settlement | undefined> {
  const current = await tx.selectFrom('top_ups').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  if (!current) return undefined;
  if (current.status === 'succeeded') return { topUp: current, entry: await findTopUpEntry(tx, id), changed: false };
  if (verdict.kind === 'done' && verdict.totalAmount === current.amount) {
    const topUp = await tx
      .updateTable('top_ups')
      .set({
        status: 'succeeded',
        payment_key: current.payment_key ?? verdict.paymentKey,
        failure_code: null,
        failure_message: null,
        next_check_at: null,
        settled_at: sql`now()`,
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { topUp, entry: await creditTopUp(tx, topUp), changed: true };
  }
  const failure = failureOf(verdict, current.amount);
  const amountMismatch = verdict.kind === 'done' ? { captured: verdict.totalAmount } : undefined;
  // The webhook of a declined payment can beat our confirm's answer: the answer's reason replaces the bare status.
  const reasonArrived = current.status === 'failed' && verdict.kind === 'refused' && endedUncaptured(current.failure_code ?? '');
  if (current.status === 'failed' && !reasonArrived) return { topUp: current, entry: undefined, changed: false, amountMismatch };
  const topUp = await tx
    .updateTable('top_ups')
    .set({
      status: 'failed',
      failure_code: failure.code,
      failure_message: failure.message,
      next_check_at: null,
      settled_at: current.settled_at ?? sql`now()`,
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return { topUp, entry: undefined, changed: true, amountMismatch };
}

export function findTopUpEntry(db: Db | Tx, topUpId: string): Promise<LedgerEntry | undefined> {
  return db.selectFrom('credit_ledger').selectAll().where('top_up_id', '=', topUpId).executeTakeFirst();
}

export async function findUsersTopUp(db: Db, userId: string, id: string): Promise<TopUpWithEntry | undefined> {
  const topUp = await db.selectFrom('top_ups').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  return topUp && { topUp, entry: await findTopUpEntry(db, id) };
}

/** The caller's top-ups, newest first (ids are UUIDv7: their order is their creation order). */
export async function listUsersTopUps(db: Db, userId: string, beforeId: string | undefined, limit: number): Promise<TopUpWithEntry[]> {
  let query = db.selectFrom('top_ups').selectAll().where('user_id', '=', userId);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  const topUps = await query
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute();
  const ids = topUps.filter((t) => t.status === 'succeeded').map((t) => t.id);
  const entries = ids.length ? await db.selectFrom('credit_ledger').selectAll().where('top_up_id', 'in', ids).execute() : [];
  const byTopUp = new Map(entries.map((entry) => [entry.top_up_id, entry]));
  return topUps.map((topUp) => ({ topUp, entry: byTopUp.get(topUp.id) }));
}

/**
 * The settler's batch: top-ups processing past their next check, not given up on, locked with
 * SKIP LOCKED (so instances take different ones) and leased at once by moving their next check
 * `leaseSeconds` ahead, in one statement that commits before the provider is asked.
 */
export async function leaseDueTopUps(db: Db, batchSize: number, leaseSeconds: number): Promise<TopUp[]> {
  const result = await sql<TopUp>`
    UPDATE top_ups t SET next_check_at = now() + make_interval(secs => ${leaseSeconds}),
                         check_attempts = t.check_attempts + 1
    FROM (SELECT id FROM top_ups
          WHERE status = 'processing' AND gave_up_at IS NULL AND next_check_at <= now()
          ORDER BY next_check_at LIMIT ${batchSize} FOR UPDATE SKIP LOCKED) due
    WHERE t.id = due.id
    RETURNING t.*`.execute(db);
  return result.rows;
}

/** After a check that learnt nothing: ask again after `delaySeconds`, or give up. */
export async function rescheduleCheck(db: Db, id: string, delaySeconds: number | 'give_up'): Promise<void> {
  await db
    .updateTable('top_ups')
    .set(
      delaySeconds === 'give_up'
        ? { gave_up_at: sql`now()`, next_check_at: null, updated_at: sql`now()` }
        : { next_check_at: sql`now() + make_interval(secs => ${delaySeconds})`, updated_at: sql`now()` },
    )
    .where('id', '=', id)
    .where('status', '=', 'processing')
    .execute();
}
