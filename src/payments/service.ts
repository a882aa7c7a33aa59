import type { Logger } from 'pino';
import type { TopUp } from '../db/schema.js';
import type { Config } from '../config.js';
import type { Db, Tx } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import type { Metrics } from '../http/metrics.js';
import { httpPaymentProvider, type ConfirmOutcome, type PaymentProvider } from './provider.js';
import {
  lockedBalance,
  findTopUpEntry,
  lockUsersTopUp,
  markProcessing,
  settleTopUp,
  type Settlement,
  type TopUpWithEntry,
  type Verdict,
} from './repository.js';

/** What the payment flows need: the database, the provider (none: demo mode) and where to report. */
export interface Payments {
  db: Db;
  provider: PaymentProvider | undefined;
  logger: Logger;
  metrics: Metrics;
  settleAfterSeconds: number;
  /** WALLET_BALANCE_CAP_KRW: a top-up that would take the balance past it is refused before any money moves. */
  balanceCap: number;
}

/**
 * Refuses a top-up that would take the user's balance past the cap (422 balance_limit_exceeded).
 * Checked, with the user's row locked, where a top-up is made and again before the provider is
 * asked to capture it; never after: money the provider captured is always credited.
 */
export async function refuseOverCap(tx: Tx, userId: string, amount: number, cap: number): Promise<void> {
  const balance = await lockedBalance(tx, userId);
  if (balance + amount > cap) {
    throw new DomainError(
      'balance_limit_exceeded',
      `Your balance is ${balance} KRW and may not pass ${cap} KRW: top up at most ${Math.max(0, cap - balance)} KRW.`,
    );
  }
}

/** The configured provider, or none (demo mode, outside production only: config.ts insists). */
export function paymentProviderOf(config: Config): PaymentProvider | undefined {
  if (!config.PAYMENTS_API_URL) return undefined;
  return httpPaymentProvider({
    baseUrl: config.PAYMENTS_API_URL,
    secretKey: config.PAYMENTS_SECRET_KEY!,
    timeoutMs: config.PAYMENTS_TIMEOUT_MS,
  });
}

/** The provider's answer to a confirm, as a verdict on the top-up; undefined when not known. */
export function verdictOf(outcome: ConfirmOutcome, orderId: string): Verdict | undefined {
  if (outcome.kind === 'refused') return { kind: 'refused', code: outcome.code, message: outcome.message };
  if (outcome.kind === 'done' && outcome.payment.orderId === orderId) {
    return { kind: 'done', paymentKey: outcome.payment.paymentKey, totalAmount: outcome.payment.totalAmount };
  }
  return undefined;
}

/** Phase two, in its own transaction, with the loud part of a settlement that needs a person. */
export async function settle(payments: Payments, id: string, verdict: Verdict, via: string): Promise<Settlement | undefined> {
  const settled = await payments.db.transaction().execute((tx) => settleTopUp(tx, id, verdict));
  if (settled?.amountMismatch && settled.changed) {
    payments.metrics.countTopUpProblem('amount_mismatch');
    payments.logger.error(
      { top_up_id: id, amount: settled.topUp.amount, captured: settled.amountMismatch.captured, via },
      'the payment provider captured another amount than the top-up asked for: not credited; refund it by hand',
    );
  } else if (settled?.changed) {
    payments.logger.info({ top_up_id: id, status: settled.topUp.status, via }, 'top-up settled');
  }
  return settled;
}

/**
 * Confirms a top-up with its payment, in atomic phases around the provider's call. Phase one (a
 * transaction) records the recovery point: `processing`, the payment key and when the settler
 * should look. The provider is asked outside any transaction, with the top-up's own idempotency
 * key, so a retry (ours, another instance's, the settler's) never charges twice. Phase two (a
 * transaction) records the verdict and, on DONE, credits once. No verdict: it stays processing.
 */
export async function confirmTopUp(payments: Payments, userId: string, id: string, paymentKey: string): Promise<TopUpWithEntry> {
  const claimed = await payments.db.transaction().execute(async (tx): Promise<{ ask: TopUp } | { settled: TopUp }> => {
    const topUp = await lockUsersTopUp(tx, userId, id);
    if (!topUp) throw new DomainError('not_found', `No top-up ${id}.`);
    if (topUp.status === 'awaiting_payment') {
      await refuseOverCap(tx, userId, topUp.amount, payments.balanceCap);
      return { ask: await markProcessing(tx, id, paymentKey, payments.settleAfterSeconds) };
    }
    if (topUp.status === 'failed') return { settled: topUp };
    if (!topUp.demo && topUp.payment_key !== paymentKey) {
      throw new DomainError('top_up_not_confirmable', `Top-up ${id} is confirmed with another payment key; it cannot take this one.`);
    }
    return topUp.status === 'succeeded' ? { settled: topUp } : { ask: topUp };
  });
  if ('settled' in claimed) return { topUp: claimed.settled, entry: await findTopUpEntry(payments.db, id) };

  const topUp = claimed.ask;
  const outcome: ConfirmOutcome = payments.provider
    ? await payments.provider.confirm({ paymentKey, orderId: topUp.id, amount: topUp.amount }, topUp.provider_key)
    : { kind: 'unknown', reason: 'no payment provider is configured' };
  const verdict = verdictOf(outcome, topUp.id);
  if (!verdict) {
    payments.logger.warn(
      { top_up_id: id, outcome },
      "the payment provider's answer to a confirm is not known; the top-up stays processing",
    );
    return { topUp, entry: undefined };
  }
  const settled = await settle(payments, id, verdict, 'confirm');
  return { topUp: settled!.topUp, entry: settled!.entry };
}
