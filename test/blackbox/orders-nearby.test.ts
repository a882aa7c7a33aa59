/**
 * GET /orders: joinable orders near a point — pending, not expired, not the caller's, within the
 * radius by great-circle distance, nearest first with distance_m (to 10 m), each in its public
 * view, stores side-loaded once, cursor pagination that neither skips nor repeats (also across
 * equal distances).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  deliveryAt,
  distanceM,
  insertStore,
  joinOrder,
  offset,
  openOrder,
  publicPartOf,
  uniqueSpot,
  type Order,
  type Point,
  type TestStore,
} from '../support/orders.js';
import { useServer } from '../support/use-server.js';
import { expectLedgerBalanced, newKey, signUp, type TestUser } from '../support/world.js';

const app = useServer();
let chicken: TestStore;
let pizza: TestStore;

beforeAll(async () => {
  chicken = await insertStore(app.db.sql, { category: '치킨', minimum: 1000, tip: 1001, menus: { wings: 3001 } });
  pizza = await insertStore(app.db.sql, { category: '피자', minimum: 1000, tip: 2000, menus: { slice: 4000 } });
});

const open = (user: TestUser, store: TestStore, at: Point) =>
  openOrder(user, {
    store_id: store.id,
    split_type: 'split',
    items: [{ menu_id: Object.values(store.menus)[0], quantity: 1 }],
    delivery: deliveryAt(at),
  });

type NearbyQuery = { lat: number; lon: number; radius_m?: number; category?: string; limit?: number; cursor?: string };

async function nearby(user: TestUser, query: NearbyQuery) {
  const { data, response } = await user.client.GET('/orders', { params: { query } });
  expect(response.status).toBe(200);
  return data!;
}

async function walk(user: TestUser, query: NearbyQuery) {
  const pages: Awaited<ReturnType<typeof nearby>>[] = [];
  let cursor: string | undefined;
  do {
    const pageOf = await nearby(user, { ...query, ...(cursor ? { cursor } : {}) });
    pages.push(pageOf);
    cursor = pageOf.next_cursor ?? undefined;
  } while (cursor && pages.length < 50);
  return pages;
}

describe('GET /orders (nearby)', () => {
  it('lists joinable orders of others within the radius, nearest first, with their stores once', async () => {
    const centre = uniqueSpot();
    const searcher = await signUp(app.server.baseUrl, 'Searcher');
    const alice = await signUp(app.server.baseUrl, 'Alice');
    const bob = await signUp(app.server.baseUrl, 'Bob');
    const carol = await signUp(app.server.baseUrl, 'Carol');

    const at50 = await open(alice, chicken, offset(centre, 50, 10));
    const at120 = await open(bob, pizza, offset(centre, 120, 90));
    const at250 = await open(alice, chicken, offset(centre, 250, 200));
    const at400 = await open(carol, chicken, offset(centre, 400, 300));

    // Never listed: the caller's own, one expired in effect, a matched one, a cancelled one.
    await open(searcher, chicken, offset(centre, 10, 0));
    const overdue = await open(bob, chicken, offset(centre, 30, 45));
    await app.db.sql`UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = ${overdue.order.id}`;
    const matched = await open(carol, pizza, offset(centre, 70, 135));
    await joinOrder(bob, matched.order.id, matched.etag);
    const cancelled = await open(carol, chicken, offset(centre, 80, 180));
    const cancel = await carol.client.POST('/orders/{orderId}/cancel', {
      params: { path: { orderId: cancelled.order.id }, header: { 'If-Match': cancelled.etag, 'Idempotency-Key': newKey() } },
    });
    expect(cancel.response.status).toBe(200);

    const result = await nearby(searcher, centre);
    expect(result.items.map((o) => o.id)).toEqual([at50.order.id, at120.order.id, at250.order.id]);
    expect(result.next_cursor).toBeNull();
    for (const [item, created] of [
      [result.items[0], at50],
      [result.items[1], at120],
      [result.items[2], at250],
    ] as const) {
      const { distance_m, ...order } = item;
      expect(order).toEqual(publicPartOf(created.order));
      // To the nearest 10 m: how far, not where.
      expect(distance_m % 10).toBe(0);
      expect(Math.abs(distance_m - distanceM(centre, created.order.delivery))).toBeLessThanOrEqual(5);
    }
    expect(result.items.map((o) => o.distance_m)).toEqual([50, 120, 250]);
    // Two chicken orders and one pizza order: each store once.
    expect(result.included.stores.map((s) => s.id).sort()).toEqual([chicken.id, pizza.id].sort());
    expect(result.included.stores.find((s) => s.id === pizza.id)).toMatchObject({
      category: '피자',
      min_order_price: 1000,
      delivery_tip: 2000,
    });

    // Someone else searching from the same point sees the searcher's order and not their own.
    const fromAlice = await nearby(alice, centre);
    expect(fromAlice.items.map((o) => o.distance_m)).toEqual([10, 120]);

    // A wider radius reaches the 400 m order.
    const wide = await nearby(searcher, { ...centre, radius_m: 500 });
    expect(wide.items.map((o) => o.id)).toEqual([at50.order.id, at120.order.id, at250.order.id, at400.order.id]);
    // A narrower one stops short.
    const narrow = await nearby(searcher, { ...centre, radius_m: 100 });
    expect(narrow.items.map((o) => o.id)).toEqual([at50.order.id]);
    expect(narrow.included.stores.map((s) => s.id)).toEqual([chicken.id]);

    // The category filter keeps orders of stores in that category only.
    const pizzas = await nearby(searcher, { ...centre, radius_m: 500, category: '피자' });
    expect(pizzas.items.map((o) => o.id)).toEqual([at120.order.id]);
    expect(pizzas.included.stores.map((s) => s.id)).toEqual([pizza.id]);
    expect((await nearby(searcher, { ...centre, category: '한식' })).items).toEqual([]);
    await expectLedgerBalanced(app.db.sql);
  });

  it('drops an order from the list as soon as it is matched', async () => {
    const centre = uniqueSpot();
    const searcher = await signUp(app.server.baseUrl);
    const creator = await signUp(app.server.baseUrl);
    const { order, etag } = await open(creator, chicken, offset(centre, 20, 0));
    expect((await nearby(searcher, centre)).items.map((o) => o.id)).toEqual([order.id]);
    await joinOrder(searcher, order.id, etag);
    expect((await nearby(searcher, centre)).items).toEqual([]);
    await expectLedgerBalanced(app.db.sql);
  });

  it('pages with a cursor that neither skips nor repeats, even between orders at the same distance', async () => {
    const centre = uniqueSpot();
    const searcher = await signUp(app.server.baseUrl);
    const creators = await Promise.all(Array.from({ length: 3 }, (_, i) => signUp(app.server.baseUrl, `Pager ${i}`)));
    const expected: Order[] = [];
    // Seven orders: three at exactly the same point (ties are broken by id), the others spread out.
    const tie = offset(centre, 90, 45);
    const points = [tie, offset(centre, 10, 0), tie, offset(centre, 200, 270), tie, offset(centre, 150, 180), offset(centre, 290, 90)];
    for (const [i, point] of points.entries()) {
      const store = i % 2 ? pizza : chicken;
      expected.push((await open(creators[i % 3], store, point)).order);
    }
    const full = await nearby(searcher, { ...centre, limit: 100 });
    expect(full.items).toHaveLength(7);
    expect(full.next_cursor).toBeNull();
    const distances = full.items.map((o) => o.distance_m);
    expect(distances).toEqual([...distances].sort((a, b) => a - b));
    expect(full.items.map((o) => o.id).sort()).toEqual(expected.map((o) => o.id).sort());

    for (const limit of [1, 2, 3]) {
      const pages = await walk(searcher, { ...centre, limit });
      expect(pages).toHaveLength(Math.ceil(7 / limit));
      expect(pages.flatMap((p) => p.items.map((o) => o.id))).toEqual(full.items.map((o) => o.id));
      for (const pageOf of pages) {
        // Each page side-loads exactly the stores of its own orders.
        expect(pageOf.included.stores.map((s) => s.id).sort()).toEqual([...new Set(pageOf.items.map((o) => o.store_id))].sort());
      }
    }
    await expectLedgerBalanced(app.db.sql);
  });

  it('rejects a cursor it did not issue', async () => {
    const searcher = await signUp(app.server.baseUrl);
    const { response, error } = await searcher.client.GET('/orders', { params: { query: { ...uniqueSpot(), cursor: 'bm9wZQ' } } });
    expect(response.status).toBe(400);
    expect(error).toMatchObject({ code: 'validation_failed' });
  });
});
