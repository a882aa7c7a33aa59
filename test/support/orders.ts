/**
 * Helpers for the order black-box tests (test/blackbox/orders-*.test.ts): stores with odd prices
 * written straight into the test database (setup, not a mock), unique delivery spots so tests of
 * one file never see each other's orders in a nearby search, and a few SDK shortcuts, among them
 * the openOrder and joinOrder every black-box file that needs an order uses.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type postgres from 'postgres';
import type { Schemas } from '../../openapi/client.js';
import { newKey, type TestUser } from './world.js';

export type Order = Schemas['Order'];
export type PublicOrder = Schemas['PublicOrder'];
export type Point = { lat: number; lon: number };

/**
 * What anyone but its participants may see of an order, from a participant's view of it: all but
 * the delivery address and point and the user ids. Its distance depends on who looks: not here.
 */
export function publicPartOf(order: Order): Omit<PublicOrder, 'distance_m'> {
  const { view: _, creator_id: _creator, joiner_id: _joiner, delivery: _delivery, items, ...rest } = order;
  return { view: 'public', ...rest, items: items.map(({ user_id: _user, ...item }) => item) };
}

const EARTH_RADIUS_M = 6_371_008.8;

/** The great-circle distance the service promises (same sphere as migrations/002_great_circle.sql). */
export function distanceM(a: Point, b: Point): number {
  const rad = (d: number) => (d * Math.PI) / 180;
  const h = Math.sin(rad(b.lat - a.lat) / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(rad(b.lon - a.lon) / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The point `metres` away from `from` towards `bearingDeg` (0 = north, 90 = east). */
export function offset(from: Point, metres: number, bearingDeg: number): Point {
  const rad = (d: number) => (d * Math.PI) / 180;
  const deg = (r: number) => (r * 180) / Math.PI;
  const d = metres / EARTH_RADIUS_M;
  const b = rad(bearingDeg);
  const lat1 = rad(from.lat);
  const lon1 = rad(from.lon);
  const lat2 = Math.asin(Math.sin(lat1) * Math.cos(d) + Math.cos(lat1) * Math.sin(d) * Math.cos(b));
  const lon2 = lon1 + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(lat1), Math.cos(d) - Math.sin(lat1) * Math.sin(lat2));
  return { lat: deg(lat2), lon: deg(lon2) };
}

/**
 * A random point on land-or-sea far from any other test's: delivery points are free, so a test that
 * searches nearby places its orders around its own spot and sees nobody else's.
 */
export function uniqueSpot(): Point {
  return { lat: -60 + Math.random() * 120, lon: -170 + Math.random() * 340 };
}

export const deliveryAt = (p: Point, address = `test address ${randomUUID().slice(0, 8)}`) => ({ address, lat: p.lat, lon: p.lon });

/** Where insertStore puts every store (near Jeonbuk National University). */
export const STORE_POINT: Point = { lat: 35.8468, lon: 127.1297 };

export interface TestStore {
  id: string;
  category: string;
  minimum: number;
  tip: number;
  deliveryMinutes: number;
  /** Menu ids by name. */
  menus: Record<string, string>;
}

/** Inserts a store and its menus directly (to get prices and tips the demo data does not have). */
export async function insertStore(
  sql: postgres.Sql,
  spec: {
    category?: string;
    minimum: number;
    tip: number;
    deliveryMinutes?: number;
    /** The store's own delivery radius; unset, the service's DELIVERY_RADIUS_M applies. */
    deliveryRadiusM?: number;
    menus: Record<string, number>;
  },
): Promise<TestStore> {
  const id = randomUUID();
  const category = spec.category ?? '치킨';
  const deliveryMinutes = spec.deliveryMinutes ?? 30;
  await sql`INSERT INTO categories (name) VALUES (${category}) ON CONFLICT DO NOTHING`;
  await sql`
    INSERT INTO stores (id, name, category, address, lat, lon, min_order_price, delivery_tip, delivery_minutes, delivery_radius_m)
    VALUES (${id}, ${`test store ${id.slice(0, 8)}`}, ${category}, 'somewhere', ${STORE_POINT.lat}, ${STORE_POINT.lon},
            ${spec.minimum}, ${spec.tip}, ${deliveryMinutes}, ${spec.deliveryRadiusM ?? null})`;
  const menus: Record<string, string> = {};
  for (const [name, price] of Object.entries(spec.menus)) {
    menus[name] = randomUUID();
    await sql`INSERT INTO menus (id, store_id, name, price) VALUES (${menus[name]}, ${id}, ${name}, ${price})`;
  }
  return { id, category, minimum: spec.minimum, tip: spec.tip, deliveryMinutes, menus };
}

/**
 * POST /orders under a key of its own, which must succeed: returns the order and its ETag,
 * checking the 201 and its Location and ETag headers. Only `user.client` is used, so any client
 * will do, one with middleware of its own too.
 */
export async function openOrder(
  user: Pick<TestUser, 'client'>,
  body: Schemas['CreateOrderInput'],
): Promise<{ order: Order; etag: string }> {
  const { data, error, response } = await user.client.POST('/orders', {
    params: { header: { 'Idempotency-Key': newKey() } },
    body,
  });
  if (!data) throw new Error(`create failed with ${response.status}: ${JSON.stringify(error)}`);
  expect(response.status).toBe(201);
  expect(response.headers.get('location')).toBe(`/orders/${data.id}`);
  expect(response.headers.get('etag')).toBe(`"v${data.version}"`);
  return { order: data, etag: response.headers.get('etag')! };
}

/** POST /orders/{id}/join that must succeed. */
export async function joinOrder(user: TestUser, orderId: string, etag: string, body?: Schemas['JoinOrderInput']) {
  const { data, error, response } = await user.client.POST('/orders/{orderId}/join', {
    params: { path: { orderId }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
    ...(body ? { body } : {}),
  });
  if (!data) throw new Error(`join failed with ${response.status}: ${JSON.stringify(error)}`);
  expect(response.status).toBe(200);
  expect(response.headers.get('etag')).toBe(`"v${data.version}"`);
  return { order: data, etag: response.headers.get('etag')! };
}

export async function balanceOf(sql: postgres.Sql, userId: string): Promise<number> {
  const [{ credit }] = await sql<{ credit: number }[]>`SELECT credit FROM users WHERE id = ${userId}`;
  return credit;
}

/** Ledger rows linked to an order, oldest first, as (user, kind, amount). */
export async function orderLedger(sql: postgres.Sql, orderId: string) {
  return sql<{ user_id: string; kind: string; amount: number }[]>`
    SELECT user_id, kind, amount FROM credit_ledger WHERE order_id = ${orderId} ORDER BY id`;
}

/** Raw HTTP for what the typed SDK deliberately cannot express (a missing required header, bad JSON). */
export async function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> | null }> {
  const response = await fetch(baseUrl + path, {
    method,
    headers: {
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...options.headers,
    },
    body: options.body,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}
