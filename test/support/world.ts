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
