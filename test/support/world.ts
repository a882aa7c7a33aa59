import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type postgres from 'postgres';
import { createCoOrderClient, type CoOrderClient, type Schemas } from '../../openapi/client.js';

export interface TestUser {
  client: CoOrderClient;
  token: string;
  user: Schemas['User'];
}

/** Signs a new user in through the SDK (dev login) and returns a client acting as them. */
export async function signUp(baseUrl: string, name = 'Tester'): Promise<TestUser> {
  const anonymous = createCoOrderClient(baseUrl);
  const email = `${name.toLowerCase().replace(/[^a-z0-9]/g, '') || 'user'}-${randomUUID()}@example.com`;
  const { data, error } = await anonymous.POST('/auth/dev/token', { body: { email, name } });
  if (!data) throw new Error(`login failed: ${JSON.stringify(error)}`);
  return { client: createCoOrderClient(baseUrl, data.access_token), token: data.access_token, user: data.user };
}

export const newKey = () => randomUUID();

/** Demo stores (seeded in the template database) near Jeonbuk National University. */
export const JEONJU = { lat: 35.8468, lon: 127.1297 };

/**
 * The money invariant: every balance equals the sum of its ledger rows and none is negative.
 * Call it after every test that moves money.
 */
export async function expectLedgerBalanced(sql: postgres.Sql): Promise<void> {
  const mismatched = await sql`
    SELECT u.id, u.credit, coalesce(sum(l.amount), 0) AS ledger_sum
    FROM users u LEFT JOIN credit_ledger l ON l.user_id = u.id
    GROUP BY u.id, u.credit
    HAVING u.credit <> coalesce(sum(l.amount), 0) OR u.credit < 0`;
  expect(mismatched).toEqual([]);
}

/**
 * Money is conserved, stores included: sign-up grants + top-ups = Σ wallets + Σ held by live
 * orders + Σ store payouts; a finished order holds nothing; each store's balance is the sum of its
 * ledger. Call it after every test that moves money to or from a store.
 */
export async function expectMoneyConserved(sql: postgres.Sql): Promise<void> {
  await expectLedgerBalanced(sql);
  const stores = await sql`
    SELECT a.store_id, a.balance, coalesce(sum(l.amount), 0) AS ledger_sum
    FROM store_accounts a LEFT JOIN store_ledger l ON l.store_id = a.store_id
    GROUP BY a.store_id, a.balance HAVING a.balance <> coalesce(sum(l.amount), 0)`;
  expect(stores).toEqual([]);
  const finishedHolding = await sql`
    SELECT o.id, o.status FROM orders o
    WHERE o.status IN ('completed', 'cancelled', 'expired', 'rejected')
      AND coalesce((SELECT sum(amount) FROM credit_ledger l WHERE l.order_id = o.id), 0)
          + coalesce((SELECT sum(amount) FROM store_ledger s WHERE s.order_id = o.id), 0) <> 0`;
  expect(finishedHolding).toEqual([]);
  const [money] = await sql<{ money_in: number; wallets: number; held: number; payouts: number }[]>`
    SELECT (SELECT coalesce(sum(amount), 0) FROM credit_ledger WHERE kind IN ('signup_grant', 'top_up'))::bigint AS money_in,
           (SELECT coalesce(sum(credit), 0) FROM users)::bigint AS wallets,
           (SELECT -coalesce(sum(l.amount), 0) FROM credit_ledger l JOIN orders o ON o.id = l.order_id
            WHERE o.status IN ('pending', 'matched', 'accepted', 'ready', 'picked_up'))::bigint AS held,
           (SELECT coalesce(sum(balance), 0) FROM store_accounts)::bigint AS payouts`;
  expect(money.money_in).toBe(money.wallets + money.held + money.payouts);
}

/** Signs a user in through the development login with roles: staff of `staffOf`, a rider if `rider`. */
export async function signUpWithRoles(baseUrl: string, name: string, roles: { staff_of?: string[]; rider?: boolean }): Promise<TestUser> {
  const anonymous = createCoOrderClient(baseUrl);
  const email = `${name.toLowerCase().replace(/[^a-z0-9]/g, '') || 'user'}-${randomUUID()}@example.com`;
  const { data, error } = await anonymous.POST('/auth/dev/token', { body: { email, name, ...roles } });
  if (!data) throw new Error(`login failed: ${JSON.stringify(error)}`);
  return { client: createCoOrderClient(baseUrl, data.access_token), token: data.access_token, user: data.user };
}
