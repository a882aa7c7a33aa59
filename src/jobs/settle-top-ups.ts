import type { Payments } from '../payments/service.js';
import { settle, verdictOf } from '../payments/service.js';
import { endedUncaptured } from '../payments/provider.js';
import { leaseDueTopUps, rescheduleCheck, type Verdict } from '../payments/repository.js';
import type { Config } from '../config.js';
import type { TopUp } from '../db/schema.js';

// Between two checks of one top-up the wait doubles from the settle age up to this: an hour.
const MAX_BACKOFF_SECONDS = 3600;

/** Seconds until the next check after `attempts` checks that learnt nothing: settleAfter · 2^(attempts−1), capped. */
export function backoffSeconds(settleAfterSeconds: number, attempts: number): number {
  return Math.min(MAX_BACKOFF_SECONDS, settleAfterSeconds * 2 ** Math.max(0, attempts - 1));
}

/**
 * What the provider says of a top-up left processing. The payment as it stands: DONE, or CANCELED
 * or ABORTED, is a verdict. READY or IN_PROGRESS, or no such payment, means our confirm never
 * reached it (or never finished): the confirm is sent again with the top-up's own idempotency key,
 * which can capture once at most, and its answer is the verdict. Undefined: still not known.
 */
async function ask(payments: Payments, topUp: TopUp): Promise<Verdict | undefined> {
  const provider = payments.provider!;
  const found = await provider.lookup(topUp.id);
  if (found.kind === 'unknown') return undefined;
  if (found.kind === 'found') {
    const { payment } = found;
    if (payment.status === 'DONE') return { kind: 'done', paymentKey: payment.paymentKey, totalAmount: payment.totalAmount };
    if (endedUncaptured(payment.status)) return { kind: 'ended', status: payment.status };
  }
  const confirmed = await provider.confirm({ paymentKey: topUp.payment_key!, orderId: topUp.id, amount: topUp.amount }, topUp.provider_key);
  return verdictOf(confirmed, topUp.id);
}

export type SettlerOptions = { batchSize: number; maxAttempts: number; leaseSeconds: number };

/** How an instance runs the settler, from its configuration. */
export function settlerOptions(config: Config): SettlerOptions {
  return {
    batchSize: config.SWEEP_BATCH_SIZE,
    maxAttempts: config.PAYMENTS_SETTLE_MAX_ATTEMPTS,
    // Long enough for a lookup and a confirm to time out, so no two instances ask at once.
    leaseSeconds: Math.ceil((3 * config.PAYMENTS_TIMEOUT_MS) / 1000),
  };
}

/**
 * Settles top-ups stuck in processing past their next check (a confirm whose answer never came, a
 * crash between the provider's capture and our credit). Each batch is leased in one statement
 * (SKIP LOCKED, next check moved ahead), so every instance may run this at once without asking
 * about the same top-up twice; the provider is asked outside any transaction; the verdict is
 * recorded as a confirm or the webhook would (whoever is first wins, the others change nothing).
 * A top-up still unknown is asked again with backoff, and after `maxAttempts` given up on,
 * loudly: an error log line and the payments_top_up_problems_total{problem="given_up"} metric.
 */
export async function runOnce(
  payments: Payments,
  options: SettlerOptions,
): Promise<{ settled: number; rescheduled: number; given_up: number }> {
  const counts = { settled: 0, rescheduled: 0, given_up: 0 };
  if (!payments.provider) return counts;
  for (;;) {
    const due = await leaseDueTopUps(payments.db, options.batchSize, options.leaseSeconds);
    for (const topUp of due) {
      const verdict = await ask(payments, topUp).catch(() => undefined);
      if (verdict) {
        await settle(payments, topUp.id, verdict, 'settler');
        counts.settled += 1;
      } else if (topUp.check_attempts >= options.maxAttempts) {
        await rescheduleCheck(payments.db, topUp.id, 'give_up');
        counts.given_up += 1;
        payments.metrics.countTopUpProblem('given_up');
        payments.logger.error(
          { top_up_id: topUp.id, user_id: topUp.user_id, amount: topUp.amount, attempts: topUp.check_attempts },
          'top-up still unknown at the payment provider; the settler gave up: settle it by hand',
        );
      } else {
        await rescheduleCheck(payments.db, topUp.id, backoffSeconds(payments.settleAfterSeconds, topUp.check_attempts));
        counts.rescheduled += 1;
      }
    }
    if (due.length < options.batchSize) return counts;
  }
}
