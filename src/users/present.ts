import type { LedgerEntry, User } from '../db/schema.js';

export function presentUser(user: User) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    credit: user.credit,
    address: user.address,
    lat: user.lat,
    lon: user.lon,
  };
}

export function presentLedgerEntry(entry: LedgerEntry) {
  return {
    id: entry.id,
    kind: entry.kind,
    amount: entry.amount,
    balance_after: entry.balance_after,
    order_id: entry.order_id,
    created_at: entry.created_at.toISOString(),
  };
}
