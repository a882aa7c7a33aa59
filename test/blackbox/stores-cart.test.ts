import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCoOrderClient, type Schemas } from '../../openapi/client.js';
import { expectProblem, sdkAnswer } from '../support/problems.js';
import { useServer } from '../support/use-server.js';
import { expectLedgerBalanced, signUp, type TestUser } from '../support/world.js';

const app = useServer();
let reader: TestUser;

beforeAll(async () => {
  reader = await signUp(app.server.baseUrl, 'Reader');
});
// Every sign-up writes a grant to the ledger: the money invariant holds after each test.
afterEach(async () => {
  await expectLedgerBalanced(app.db.sql);
});

type Store = Schemas['Store'];
type Menu = Schemas['Menu'];

async function allStores(category?: string, limit = 100): Promise<Store[]> {
  const stores: Store[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 50; pages++) {
    const page = await reader.client.GET('/stores', { params: { query: { category, limit, cursor } } });
    expect(page.response.status).toBe(200);
    expect(page.data!.items.length).toBeLessThanOrEqual(limit);
    stores.push(...page.data!.items);
    if (page.data!.next_cursor === null) return stores;
    cursor = page.data!.next_cursor;
  }
  throw new Error('pagination did not end');
}

async function menusOf(storeId: string): Promise<Menu[]> {
  const result = await reader.client.GET('/stores/{storeId}/menus', { params: { path: { storeId } } });
  expect(result.response.status).toBe(200);
  return result.data!.items;
}

/** Two different demo stores in the same neighbourhood, with their menus. */
async function twoStores() {
  const stores = (await allStores('치킨')).filter((s) => s.lat < 36);
  expect(stores.length).toBeGreaterThanOrEqual(2);
  return Promise.all(stores.slice(0, 2).map(async (store) => ({ store, menus: await menusOf(store.id) })));
}

describe('GET /categories', () => {
  it('lists the demo categories in display order', async () => {
    const result = await reader.client.GET('/categories');
    expect(result.response.status).toBe(200);
    const names = result.data!.items.map((c) => c.name);
    expect(names.length).toBeGreaterThanOrEqual(4);
    expect(names).toEqual(expect.arrayContaining(['치킨', '피자', '한식', '중식']));
    const rows = await app.db.sql`SELECT name FROM categories ORDER BY sort_order, name`;
    expect(names).toEqual(rows.map((r) => r.name));
  });
});

describe('GET /stores', () => {
  it('lists every demo store by name, with prices as integers', async () => {
    const stores = await allStores();
    expect(stores.length).toBeGreaterThanOrEqual(12);
    const rows = await app.db.sql`SELECT id FROM stores ORDER BY name, id`;
    expect(stores.map((s) => s.id)).toEqual(rows.map((r) => r.id));
    for (const store of stores) {
      expect(Number.isInteger(store.min_order_price) && store.min_order_price > 0).toBe(true);
      expect(Number.isInteger(store.delivery_tip) && store.delivery_tip >= 0).toBe(true);
      expect(Number.isInteger(store.delivery_minutes) && store.delivery_minutes > 0).toBe(true);
      expect(Math.abs(store.lat)).toBeLessThanOrEqual(90);
      expect(Math.abs(store.lon)).toBeLessThanOrEqual(180);
    }
  });

  it('filters by category', async () => {
    const all = await allStores();
    for (const category of ['치킨', '피자', '한식', '중식']) {
      const stores = await allStores(category);
      expect(stores.length).toBeGreaterThan(0);
      expect(stores.every((s) => s.category === category)).toBe(true);
      expect(stores.map((s) => s.id)).toEqual(all.filter((s) => s.category === category).map((s) => s.id));
    }
    expect(await allStores('없는카테고리')).toEqual([]);
  });

  it('pages through every store exactly once with small pages', async () => {
    const all = await allStores();
    for (const limit of [1, 5, 7]) {
      const paged = await allStores(undefined, limit);
      expect(paged.map((s) => s.id)).toEqual(all.map((s) => s.id));
    }
    const first = await reader.client.GET('/stores', { params: { query: { limit: 5 } } });
    expect(first.data!.items).toHaveLength(5);
    expect(first.data!.next_cursor).toEqual(expect.any(String));
  });

  it('defaults to 20 stores a page', async () => {
    const total = (await allStores()).length;
    const first = await reader.client.GET('/stores');
    expect(first.data!.items).toHaveLength(Math.min(20, total));
    expect(first.data!.next_cursor === null).toBe(total <= 20);
  });

  it('refuses a cursor it did not issue', async () => {
    const result = await reader.client.GET('/stores', { params: { query: { cursor: 'eyJpZCI6MX0' } } });
    expectProblem(sdkAnswer(result), 400, 'validation_failed', '/stores');
  });
});

describe('GET /stores/{id} and its menus', () => {
  it('returns one store as the list does', async () => {
    const [store] = await allStores('피자');
    const result = await reader.client.GET('/stores/{storeId}', { params: { path: { storeId: store.id } } });
    expect(result.response.status).toBe(200);
    expect(result.data).toEqual(store);
  });

  it('lists the menus of the store, cheapest first', async () => {
    for (const store of (await allStores()).slice(0, 4)) {
      const menus = await menusOf(store.id);
      expect(menus.length).toBeGreaterThanOrEqual(4);
      expect(menus.every((m) => m.store_id === store.id && Number.isInteger(m.price) && m.price > 0)).toBe(true);
      expect(menus.map((m) => m.price)).toEqual([...menus.map((m) => m.price)].sort((a, b) => a - b));
      const [{ count }] = await app.db.sql`SELECT count(*)::int AS count FROM menus WHERE store_id = ${store.id}`;
      expect(menus).toHaveLength(count);
    }
  });

  it('answers 404 for an unknown store id', async () => {
    const storeId = randomUUID();
    const store = await reader.client.GET('/stores/{storeId}', { params: { path: { storeId } } });
    expectProblem(sdkAnswer(store), 404, 'not_found', `/stores/${storeId}`);
    const menus = await reader.client.GET('/stores/{storeId}/menus', { params: { path: { storeId } } });
    expectProblem(sdkAnswer(menus), 404, 'not_found', `/stores/${storeId}/menus`);
  });

  it('answers 400 for an id that is not a uuid', async () => {
    for (const storeId of ['42', 'not-a-uuid', "1' OR '1'='1"]) {
      const store = await reader.client.GET('/stores/{storeId}', { params: { path: { storeId } } });
      const problem = expectProblem(sdkAnswer(store), 400, 'validation_failed');
      expect(problem.errors).toEqual([expect.objectContaining({ path: 'path.storeId' })]);
      const menus = await reader.client.GET('/stores/{storeId}/menus', { params: { path: { storeId } } });
      expectProblem(sdkAnswer(menus), 400, 'validation_failed');
    }
  });

  it('needs a token', async () => {
    const anonymous = createCoOrderClient(app.server.baseUrl);
    expectProblem(sdkAnswer(await anonymous.GET('/stores')), 401, 'unauthorized', '/stores');
    expectProblem(sdkAnswer(await anonymous.GET('/categories')), 401, 'unauthorized', '/categories');
  });
});

describe('cart', () => {
  const put = (user: TestUser, menuId: string, quantity: number) =>
    user.client.PUT('/cart/items/{menuId}', { params: { path: { menuId } }, body: { quantity } });
  const cartRows = (user: TestUser) =>
    app.db.sql`SELECT menu_id, store_id, quantity FROM cart_items WHERE user_id = ${user.user.id} ORDER BY menu_id`;

  it('starts empty', async () => {
    const user = await signUp(app.server.baseUrl);
    const cart = await user.client.GET('/cart');
    expect(cart.response.status).toBe(200);
    expect(cart.data).toEqual({ store_id: null, items: [], menu_total: 0 });
  });

  it('adds items, updates a quantity, totals, removes an item and clears', async () => {
    const user = await signUp(app.server.baseUrl, 'Cart');
    const [{ store, menus }] = await twoStores();
    const [a, b] = menus;

    const first = await put(user, a.id, 2);
    expect(first.response.status).toBe(200);
    expect(first.data).toEqual({
      store_id: store.id,
      items: [{ menu_id: a.id, name: a.name, unit_price: a.price, quantity: 2, line_total: 2 * a.price }],
      menu_total: 2 * a.price,
    });

    const second = await put(user, b.id, 1);
    expect(second.data!.items.map((i) => [i.menu_id, i.quantity])).toEqual([
      [a.id, 2],
      [b.id, 1],
    ]);
    expect(second.data!.menu_total).toBe(2 * a.price + b.price);

    const updated = await put(user, a.id, 3);
    expect(updated.data!.items).toHaveLength(2);
    expect(updated.data!.items.find((i) => i.menu_id === a.id)).toMatchObject({ quantity: 3, line_total: 3 * a.price });
    expect(updated.data!.menu_total).toBe(3 * a.price + b.price);

    const read = await user.client.GET('/cart');
    expect(read.data!.store_id).toBe(store.id);
    expect(read.data!.menu_total).toBe(3 * a.price + b.price);
    expect(new Set(read.data!.items.map((i) => i.menu_id))).toEqual(new Set([a.id, b.id]));
    expect(read.data!.menu_total).toBe(read.data!.items.reduce((s, i) => s + i.line_total, 0));

    const removed = await user.client.DELETE('/cart/items/{menuId}', { params: { path: { menuId: a.id } } });
    expect(removed.response.status).toBe(200);
    expect(removed.data).toEqual({
      store_id: store.id,
      items: [{ menu_id: b.id, name: b.name, unit_price: b.price, quantity: 1, line_total: b.price }],
      menu_total: b.price,
    });

    // Removing what is not there changes nothing.
    const again = await user.client.DELETE('/cart/items/{menuId}', { params: { path: { menuId: a.id } } });
    expect(again.response.status).toBe(200);
    expect(again.data).toEqual(removed.data);

    const cleared = await user.client.DELETE('/cart');
    expect(cleared.response.status).toBe(204);
    expect((await user.client.GET('/cart')).data).toEqual({ store_id: null, items: [], menu_total: 0 });
    expect(await cartRows(user)).toEqual([]);
  });

  it('refuses a menu of another store with 409 cart_store_conflict and keeps the cart', async () => {
    const user = await signUp(app.server.baseUrl, 'Conflict');
    const [first, second] = await twoStores();
    expect((await put(user, first.menus[0].id, 1)).response.status).toBe(200);
    const before = await cartRows(user);

    const conflict = await put(user, second.menus[0].id, 1);
    const problem = expectProblem(sdkAnswer(conflict), 409, 'cart_store_conflict', `/cart/items/${second.menus[0].id}`);
    expect(problem.type).toMatch(/cart_store_conflict$/);
    expect(await cartRows(user)).toEqual(before);

    // Once emptied, the other store's menus are welcome.
    expect((await user.client.DELETE('/cart')).response.status).toBe(204);
    const switched = await put(user, second.menus[0].id, 1);
    expect(switched.response.status).toBe(200);
    expect(switched.data!.store_id).toBe(second.store.id);
  });

  it('keeps one store even when two stores’ menus are added at the same moment', async () => {
    const user = await signUp(app.server.baseUrl, 'Race');
    const [first, second] = await twoStores();
    const results = await Promise.all([put(user, first.menus[0].id, 1), put(user, second.menus[0].id, 1)]);
    expect(results.map((r) => r.response.status).sort()).toEqual([200, 409]);
    const rows = await cartRows(user);
    expect(rows).toHaveLength(1);
    expect(new Set(rows.map((r) => r.store_id)).size).toBe(1);
  });

  it("does not wait on another transaction's foreign-key check of the user (its ledger row, a notification)", async () => {
    const user = await signUp(app.server.baseUrl, 'Busy');
    const [first] = await twoStores();
    // What a foreign-key check holds until its transaction ends: KEY SHARE on the users row.
    const held = await app.db.sql.reserve();
    try {
      await held`BEGIN`;
      await held`SELECT id FROM users WHERE id = ${user.user.id} FOR KEY SHARE`;
      // A lock that waited would answer 409 request_in_progress after LOCK_WAIT_MS.
      const added = await put(user, first.menus[0].id, 2);
      expect(added.response.status).toBe(200);
    } finally {
      await held`ROLLBACK`;
      held.release();
    }
    expect(await cartRows(user)).toEqual([{ menu_id: first.menus[0].id, store_id: first.store.id, quantity: 2 }]);
  });

  it('answers 404 for an unknown menu and 400 for a non-uuid menu id', async () => {
    const user = await signUp(app.server.baseUrl);
    const menuId = randomUUID();
    expectProblem(sdkAnswer(await put(user, menuId, 1)), 404, 'not_found', `/cart/items/${menuId}`);
    const bad = await put(user, 'menu-1', 1);
    expect(expectProblem(sdkAnswer(bad), 400, 'validation_failed').errors).toEqual([expect.objectContaining({ path: 'path.menuId' })]);
    expect(await cartRows(user)).toEqual([]);
  });

  it('refuses quantities out of range', async () => {
    const user = await signUp(app.server.baseUrl);
    const [{ menus }] = await twoStores();
    expect((await put(user, menus[0].id, 99)).response.status).toBe(200);
    for (const quantity of [0, -1, 100, 1.5]) {
      const bad = await put(user, menus[0].id, quantity);
      expect(expectProblem(sdkAnswer(bad), 400, 'validation_failed').errors).toEqual([expect.objectContaining({ path: 'body.quantity' })]);
    }
    expect((await cartRows(user)).map((r) => r.quantity)).toEqual([99]);
  });

  it('is private to each user', async () => {
    const alice = await signUp(app.server.baseUrl, 'Alice');
    const bob = await signUp(app.server.baseUrl, 'Bob');
    const [first, second] = await twoStores();
    await put(alice, first.menus[0].id, 2);
    // Bob's cart is his own: another store is fine for him, and clearing his leaves Alice's.
    expect((await put(bob, second.menus[0].id, 1)).response.status).toBe(200);
    expect((await bob.client.DELETE('/cart')).response.status).toBe(204);
    const aliceCart = await alice.client.GET('/cart');
    expect(aliceCart.data!.items.map((i) => [i.menu_id, i.quantity])).toEqual([[first.menus[0].id, 2]]);
  });
});
