/**
 * Helpers for the Idempotency-Key black-box tests (test/blackbox/idempotency-*.test.ts): the exact
 * text of responses, the demo order to place (open it with openOrder(user, splitOrderInput(store))
 * from ./orders.js), replay checks, and audits of what the database holds.
 */
import { expect } from 'vitest';
import type postgres from 'postgres';
import { createCoOrderClient, type CoOrderClient, type Schemas } from '../../openapi/client.js';
import { joinOrder, openOrder } from './orders.js';
import { JEONJU, newKey, signUp, signUpWithRoles, type TestUser } from './world.js';

/** A user whose client keeps every response body's exact text (read it with bodyText). */
export type Actor = TestUser;

/** A signed-up user whose client keeps every response body's exact text. */
export async function actor(baseUrl: string, name: string): Promise<Actor> {
  const user = await signUp(baseUrl, name);
  recordBodies(user.client);
  return user;
}

/** A user who is staff of `storeId` (development login), recording bodies like `actor`. */
export async function staffActor(baseUrl: string, name: string, storeId: string): Promise<Actor> {
  const user = await signUpWithRoles(baseUrl, name, { staff_of: [storeId] });
  recordBodies(user.client);
  return user;
}

/** The same user talking to another instance (same token, same database). */
export function sameUserOn(baseUrl: string, user: TestUser): Actor {
  const client = createCoOrderClient(baseUrl, user.token);
  recordBodies(client);
  return { ...user, client };
}

const recorded = new WeakMap<Response, string>();

function recordBodies(client: CoOrderClient): void {
  client.use({
    async onResponse({ response }) {
      recorded.set(response, await response.clone().text());
      return undefined;
    },
  });
}

/** The exact body text of a response an actor's client received (the SDK parses it away). */
export function bodyText(response: Response): string {
  const text = recorded.get(response);
  if (text === undefined) throw new Error("no recorded body for this response (not from an actor's client?)");
  return text;
}

/**
 * `again` is the stored answer of `first` replayed: everything a client can see is the same (status,
 * byte-identical body, ETag, Location, Content-Type) but the `Idempotent-Replayed: true` header.
 */
export function expectReplayOf(first: { response: Response }, again: { response: Response }): void {
  const seen = (response: Response) => ({
    status: response.status,
    etag: response.headers.get('etag'),
    location: response.headers.get('location'),
    contentType: response.headers.get('content-type'),
    body: bodyText(response),
  });
  expect(first.response.headers.get('idempotent-replayed')).toBeNull();
  expect(again.response.headers.get('idempotent-replayed')).toBe('true');
  expect(seen(again.response)).toEqual(seen(first.response));
}

export interface DemoStore {
  storeId: string;
  /** 허니콤보, 23,000 KRW. */
  menuId: string;
  /** 치즈볼, 5,000 KRW. */
  smallMenuId: string;
}

/** '교촌치킨 전북대점' (minimum 16,000, tip 3,000) and two of its menus, found through the API. */
export async function demoStore(client: CoOrderClient): Promise<DemoStore> {
  const stores = await client.GET('/stores', { params: { query: { category: '치킨', limit: 50 } } });
  const store = stores.data!.items.find((s) => s.name === '교촌치킨 전북대점');
  expect(store).toBeDefined();
  const menus = await client.GET('/stores/{storeId}/menus', { params: { path: { storeId: store!.id } } });
  const menu = (name: string) => menus.data!.items.find((m) => m.name === name)!.id;
  return { storeId: store!.id, menuId: menu('허니콤보'), smallMenuId: menu('치즈볼') };
}

/** A split order of one 허니콤보: the creator pays ceil(23000/2) + ceil(3000/2) = 13,000 KRW. */
export const SPLIT_CREATOR_SHARE = 13_000;
/** ... and the joiner floor(23000/2) + floor(3000/2) = 13,000 KRW. */
export const SPLIT_JOINER_SHARE = 13_000;

export function splitOrderInput(store: DemoStore): Schemas['CreateOrderInput'] {
  return {
    store_id: store.storeId,
    split_type: 'split',
    items: [{ menu_id: store.menuId, quantity: 1 }],
    delivery: { address: '전북 전주시 덕진구 백제대로 567', lat: JEONJU.lat, lon: JEONJU.lon },
  };
}

/** Opens a split order and has `joiner` join it: the order is matched, version 2. */
export async function matchedOrder(creator: TestUser, joiner: TestUser, store: DemoStore) {
  const { order, etag } = await openOrder(creator, splitOrderInput(store));
  return joinOrder(joiner, order.id, etag);
}

/** Cancels an order (its own key) that must cancel. */
export async function cancelOrder(creator: TestUser, orderId: string, etag: string): Promise<void> {
  const cancelled = await creator.client.POST('/orders/{orderId}/cancel', {
    params: { path: { orderId }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
  });
  expect(cancelled.response.status).toBe(200);
}

/** The credit every new user is granted (SIGNUP_GRANT_KRW, default 50,000): the first row of every ledger. */
export const SIGNUP_GRANT = 50_000;

interface LedgerRow {
  kind: string;
  amount: number;
  order_id: string | null;
}

/** A user's ledger, oldest first, audited in the database. */
export async function ledgerOf(sql: postgres.Sql, userId: string): Promise<LedgerRow[]> {
  return sql<LedgerRow[]>`
    SELECT kind, amount, order_id FROM credit_ledger WHERE user_id = ${userId} ORDER BY id`;
}

/** A ledger as it starts (the sign-up grant), followed by `rows`. */
export const grantThen = (...rows: LedgerRow[]): LedgerRow[] => [{ kind: 'signup_grant', amount: SIGNUP_GRANT, order_id: null }, ...rows];

/** The ids of the orders a user created, oldest first. */
export async function ordersOf(sql: postgres.Sql, creatorId: string): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`SELECT id FROM orders WHERE creator_id = ${creatorId} ORDER BY created_at, id`;
  return rows.map((r) => r.id);
}

/** The Idempotency-Keys stored for a user, sorted. */
export async function keysOf(sql: postgres.Sql, userId: string): Promise<string[]> {
  const rows = await sql<{ key: string }[]>`SELECT key FROM idempotency_keys WHERE user_id = ${userId} ORDER BY key`;
  return rows.map((r) => r.key);
}

export async function keyRow(sql: postgres.Sql, userId: string, key: string) {
  const [row] = await sql<{ response_status: number; response_body: string; created_at: Date }[]>`
    SELECT response_status, response_body, created_at FROM idempotency_keys WHERE user_id = ${userId} AND key = ${key}`;
  return row;
}

export async function orderRow(sql: postgres.Sql, orderId: string) {
  const [row] = await sql<{ status: string; version: number; joiner_id: string | null }[]>`
    SELECT status, version, joiner_id FROM orders WHERE id = ${orderId}`;
  return row;
}
