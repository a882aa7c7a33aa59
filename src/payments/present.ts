import { presentLedgerEntry } from '../users/present.js';
import type { TopUpWithEntry } from './repository.js';

export function presentTopUp({ topUp, entry }: TopUpWithEntry) {
  return {
    id: topUp.id,
    status: topUp.status,
    amount: topUp.amount,
    demo: topUp.demo,
    payment_key: topUp.payment_key,
    failure: topUp.failure_code ? { code: topUp.failure_code, message: topUp.failure_message ?? '' } : null,
    credit: entry ? entry.balance_after : null,
    entry: entry ? presentLedgerEntry(entry) : null,
    created_at: topUp.created_at.toISOString(),
    updated_at: topUp.updated_at.toISOString(),
    settled_at: topUp.settled_at ? topUp.settled_at.toISOString() : null,
  };
}
