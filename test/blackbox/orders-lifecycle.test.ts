/**
 * The full life of a joint order over HTTP, with exact amounts: split and separate, odd menu
 * totals and odd tips, items named or taken from the cart, delivery given or defaulted, polling
 * with If-None-Match, the caller's order lists and the notifications each transition writes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Schemas } from '../../openapi/client.js';
import { balanceOf, deliveryAt, insertStore, joinOrder, openOrder, orderLedger, uniqueSpot, type TestStore } from '../support/orders.js';
import { useServer } from '../support/use-server.js';
import { expectMoneyConserved, newKey, signUp, signUpWithRoles, type TestUser } from '../support/world.js';

const app = useServer();
// Odd tip and odd prices: every rounding rule shows in the amounts.
let odd: TestStore;

let staff: TestUser;
let rider: TestUser;

beforeAll(async () => {
  odd = await insertStore(app.db.sql, { minimum: 15_000, tip: 3001, menus: { big: 10_001, small: 5003, side: 777 } });
  staff = await signUpWithRoles(app.server.baseUrl, 'Cook', { staff_of: [odd.id] });
  rider = await signUpWithRoles(app.server.baseUrl, 'Rider', { rider: true });
});

/** The store's staff accept and ready the order, a rider picks it up and delivers it: completed. */
async function deliverThrough(orderId: string, matchedEtag: string) {
  let etag = matchedEtag;
  const step = async (user: TestUser, action: 'accept' | 'ready' | 'pick-up' | 'deliver') => {
    const { data, response } = await user.client.POST(`/orders/{orderId}/${action}`, {
      params: { path: { orderId }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe(`"v${data!.version}"`);
    etag = response.headers.get('etag')!;
    return data!;
  };
  await step(staff, 'accept');
  await step(staff, 'ready');
  await step(rider, 'pick-up');
  return step(rider, 'deliver');
}

async function notificationsOf(user: TestUser) {
  const { data } = await user.client.GET('/users/me/notifications', { params: { query: {} } });
  return data!.items;
}

describe('split order (나눠먹기)', () => {
  it('charges ceil halves to the creator and floor halves to the joiner, summing exactly to M + T', async () => {
    const creator = await signUp(app.server.baseUrl, 'Creator');
    const joiner = await signUp(app.server.baseUrl, 'Joiner');
    const spot = uniqueSpot();
    // M = 10001 + 2 × 5003 = 20007 (odd), T = 3001 (odd).
    const M = 20_007;
    const T = 3001;
    const creatorShare = Math.ceil(M / 2) + Math.ceil(T / 2); // 10004 + 1501
    const joinerShare = Math.floor(M / 2) + Math.floor(T / 2); // 10003 + 1500
    expect([creatorShare, joinerShare]).toEqual([11_505, 11_503]);

    const { order: created, etag } = await openOrder(creator, {
      store_id: odd.id,
      split_type: 'split',
      items: [
        { menu_id: odd.menus.big, quantity: 1 },
        { menu_id: odd.menus.small, quantity: 2 },
      ],
      delivery: deliveryAt(spot, '전주시 덕진구 1'),
    });
    expect(created).toMatchObject({
      store_id: odd.id,
      split_type: 'split',
      status: 'pending',
      version: 1,
      creator_id: creator.user.id,
      joiner_id: null,
      matched_at: null,
      completed_at: null,
      delivery: { address: '전주시 덕진구 1', lat: spot.lat, lon: spot.lon },
      menu_total: M,
      delivery_tip: T,
      shares: { creator: creatorShare, joiner: joinerShare },
    });
    expect(created.items).toEqual([
      { user_id: creator.user.id, menu_id: odd.menus.big, name: 'big', quantity: 1, unit_price: 10_001 },
      { user_id: creator.user.id, menu_id: odd.menus.small, name: 'small', quantity: 2, unit_price: 5003 },
    ]);
    // expires_at = created_at + 30 minutes (the default TTL).
    expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(30 * 60_000);
    expect(await balanceOf(app.db.sql, creator.user.id)).toBe(50_000 - creatorShare);

    const { order: matched, etag: matchedEtag } = await joinOrder(joiner, created.id, etag);
    expect(matched).toMatchObject({
      status: 'matched',
      version: 2,
      joiner_id: joiner.user.id,
      menu_total: M,
      shares: { creator: creatorShare, joiner: joinerShare },
    });
    expect(matched.matched_at).not.toBeNull();
    // A split joiner shares the creator's menu: no items of their own.
    expect(matched.items).toEqual(created.items);
    expect(await balanceOf(app.db.sql, joiner.user.id)).toBe(50_000 - joinerShare);

    const completed = await deliverThrough(created.id, matchedEtag);
    expect(completed).toMatchObject({ status: 'completed', version: 6 });
    expect(completed.completed_at).not.toBeNull();

    expect(await orderLedger(app.db.sql, created.id)).toEqual([
      { user_id: creator.user.id, kind: 'order_charge', amount: -creatorShare },
      { user_id: joiner.user.id, kind: 'order_charge', amount: -joinerShare },
    ]);
    expect(creatorShare + joinerShare).toBe(M + T);
    // Delivery pays the store what the order held; the wallets move no more.
    expect(await balanceOf(app.db.sql, creator.user.id)).toBe(50_000 - creatorShare);
    expect(await balanceOf(app.db.sql, joiner.user.id)).toBe(50_000 - joinerShare);

    const ledger = await creator.client.GET('/users/me/ledger', { params: { query: {} } });
    expect(ledger.data!.items[0]).toMatchObject({
      kind: 'order_charge',
      amount: -creatorShare,
      order_id: created.id,
      balance_after: 50_000 - creatorShare,
    });
    await expectMoneyConserved(app.db.sql);
  });

  it('takes the items from the cart when none are named, and empties the cart', async () => {
    const creator = await signUp(app.server.baseUrl, 'CartUser');
    for (const [menu, quantity] of [
      [odd.menus.big, 1],
      [odd.menus.side, 7],
    ] as const) {
      const put = await creator.client.PUT('/cart/items/{menuId}', { params: { path: { menuId: menu } }, body: { quantity } });
      expect(put.response.status).toBe(200);
    }
    // M = 10001 + 7 × 777 = 15440, T = 3001.
    const { order } = await openOrder(creator, { store_id: odd.id, split_type: 'split', delivery: deliveryAt(uniqueSpot()) });
    expect(order.items.map((i) => [i.menu_id, i.quantity, i.unit_price])).toEqual([
      [odd.menus.big, 1, 10_001],
      [odd.menus.side, 7, 777],
    ]);
    expect(order.menu_total).toBe(15_440);
    expect(order.shares).toEqual({ creator: 7720 + 1501, joiner: 7720 + 1500 });
    expect(await balanceOf(app.db.sql, creator.user.id)).toBe(50_000 - 9221);

    const cart = await creator.client.GET('/cart');
    expect(cart.data).toMatchObject({ store_id: null, items: [], menu_total: 0 });
    await expectMoneyConserved(app.db.sql);
  });
});

describe('separate order (각자먹기)', () => {
  it('charges each their own items plus a half of the tip (ceil for the creator, floor for the joiner)', async () => {
    const creator = await signUp(app.server.baseUrl, 'Sep Creator');
    const joiner = await signUp(app.server.baseUrl, 'Sep Joiner');
    // Mc = 10001 + 777 = 10778 (below the 15000 minimum alone), Mj = 5003, together 15781.
    const Mc = 10_778;
    const Mj = 5003;
    const T = 3001;

    const { order: created, etag } = await openOrder(creator, {
      store_id: odd.id,
      split_type: 'separate',
      items: [
        { menu_id: odd.menus.big, quantity: 1 },
        { menu_id: odd.menus.side, quantity: 1 },
      ],
      delivery: deliveryAt(uniqueSpot()),
    });
    expect(created).toMatchObject({ status: 'pending', menu_total: Mc, delivery_tip: T, shares: { creator: Mc + 1501, joiner: null } });
    expect(await balanceOf(app.db.sql, creator.user.id)).toBe(50_000 - (Mc + 1501));

    const { order: matched, etag: matchedEtag } = await joinOrder(joiner, created.id, etag, {
      items: [{ menu_id: odd.menus.small, quantity: 1 }],
    });
    expect(matched).toMatchObject({
      status: 'matched',
      version: 2,
      joiner_id: joiner.user.id,
      menu_total: Mc + Mj,
      delivery_tip: T,
      shares: { creator: Mc + 1501, joiner: Mj + 1500 },
    });
    expect(matched.items).toEqual([
      ...created.items,
      { user_id: joiner.user.id, menu_id: odd.menus.small, name: 'small', quantity: 1, unit_price: 5003 },
    ]);
    expect(matched.shares.creator + matched.shares.joiner!).toBe(Mc + Mj + T);

    // What GET shows is what the join answered.
    const got = await creator.client.GET('/orders/{orderId}', { params: { path: { orderId: created.id } } });
    expect(got.data).toEqual(matched);

    const completed = await deliverThrough(created.id, matchedEtag);
    expect(completed).toMatchObject({ status: 'completed', version: 6, shares: { creator: Mc + 1501, joiner: Mj + 1500 } });

    expect(await orderLedger(app.db.sql, created.id)).toEqual([
      { user_id: creator.user.id, kind: 'order_charge', amount: -(Mc + 1501) },
      { user_id: joiner.user.id, kind: 'order_charge', amount: -(Mj + 1500) },
    ]);
    expect(await balanceOf(app.db.sql, joiner.user.id)).toBe(50_000 - (Mj + 1500));
    await expectMoneyConserved(app.db.sql);
  });

  it('works with an even tip and the demo store too (교촌치킨 전북대점: tip 3000)', async () => {
    const creator = await signUp(app.server.baseUrl, 'Demo Creator');
    const joiner = await signUp(app.server.baseUrl, 'Demo Joiner');
    const stores = await creator.client.GET('/stores', { params: { query: { category: '치킨' } } });
    const kyochon = stores.data!.items.find((s) => s.name === '교촌치킨 전북대점')!;
    const menus = await creator.client.GET('/stores/{storeId}/menus', { params: { path: { storeId: kyochon.id } } });
    const menu = (name: string) => menus.data!.items.find((m) => m.name === name)!.id;

    const { order, etag } = await openOrder(creator, {
      store_id: kyochon.id,
      split_type: 'separate',
      items: [{ menu_id: menu('치즈볼'), quantity: 1 }],
      delivery: deliveryAt(uniqueSpot()),
    });
    expect(order.shares).toEqual({ creator: 5000 + 1500, joiner: null });
    // The joiner may order the same menu as the creator: items are per user.
    const { order: matched } = await joinOrder(joiner, order.id, etag, {
      items: [
        { menu_id: menu('허니콤보'), quantity: 1 },
        { menu_id: menu('치즈볼'), quantity: 2 },
      ],
    });
    expect(matched.shares).toEqual({ creator: 6500, joiner: 33_000 + 1500 });
    expect(matched.menu_total + matched.delivery_tip).toBe(6500 + 34_500);
    expect(matched.items.map((i) => [i.user_id, i.name, i.quantity])).toEqual([
      [creator.user.id, '치즈볼', 1],
      [joiner.user.id, '허니콤보', 1],
      [joiner.user.id, '치즈볼', 2],
    ]);
    await expectMoneyConserved(app.db.sql);
  });

  it('refunds the creator exactly their own items plus half the tip on cancel', async () => {
    const creator = await signUp(app.server.baseUrl, 'Sep Cancel');
    const { order, etag } = await openOrder(creator, {
      store_id: odd.id,
      split_type: 'separate',
      items: [{ menu_id: odd.menus.side, quantity: 3 }],
      delivery: deliveryAt(uniqueSpot()),
    });
    const paid = 3 * 777 + 1501;
    expect(order.shares).toEqual({ creator: paid, joiner: null });
    const cancelled = await creator.client.POST('/orders/{orderId}/cancel', {
      params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
    });
    expect(cancelled.data).toMatchObject({ status: 'cancelled', version: 2 });
    expect(await orderLedger(app.db.sql, order.id)).toEqual([
      { user_id: creator.user.id, kind: 'order_charge', amount: -paid },
      { user_id: creator.user.id, kind: 'order_refund', amount: paid },
    ]);
    expect(await balanceOf(app.db.sql, creator.user.id)).toBe(50_000);
    await expectMoneyConserved(app.db.sql);
  });
});

describe('delivery address', () => {
  it('defaults to the saved address', async () => {
    const creator = await signUp(app.server.baseUrl, 'Saved');
    const me = await creator.client.GET('/users/me');
    const saved = { address: '전북 전주시 덕진구 백제대로 567', lat: 35.8468, lon: 127.1297 };
    const put = await creator.client.PUT('/users/me/address', {
      params: { header: { 'If-Match': me.response.headers.get('etag')! } },
      body: saved,
    });
    expect(put.response.status).toBe(200);
    const { order } = await openOrder(creator, {
      store_id: odd.id,
      split_type: 'split',
      items: [{ menu_id: odd.menus.big, quantity: 2 }],
    });
    expect(order.delivery).toEqual(saved);
    await expectMoneyConserved(app.db.sql);
  });
});

describe('GET /orders/{id}', () => {
  it('answers 304 to a matching If-None-Match, and 200 with the new ETag once the order changed', async () => {
    const creator = await signUp(app.server.baseUrl, 'Poller');
    const joiner = await signUp(app.server.baseUrl, 'Joiner');
    const { order, etag } = await openOrder(creator, {
      store_id: odd.id,
      split_type: 'split',
      items: [{ menu_id: odd.menus.big, quantity: 2 }],
      delivery: deliveryAt(uniqueSpot()),
    });
    const path = { orderId: order.id };
    const first = await creator.client.GET('/orders/{orderId}', { params: { path } });
    expect(first.response.status).toBe(200);
    expect(first.response.headers.get('etag')).toBe(etag);
    expect(first.data).toEqual(order);

    const unchanged = await creator.client.GET('/orders/{orderId}', { params: { path, header: { 'If-None-Match': etag } } });
    expect(unchanged.response.status).toBe(304);
    expect(unchanged.response.headers.get('etag')).toBe(etag);

    // Anyone signed in may read an order (it is what a neighbour decides to join on).
    const asJoiner = await joiner.client.GET('/orders/{orderId}', { params: { path, header: { 'If-None-Match': etag } } });
    expect(asJoiner.response.status).toBe(304);

    const { etag: newEtag } = await joinOrder(joiner, order.id, etag);
    const changed = await creator.client.GET('/orders/{orderId}', { params: { path, header: { 'If-None-Match': etag } } });
    expect(changed.response.status).toBe(200);
    expect(changed.response.headers.get('etag')).toBe(newEtag);
    expect(changed.data!.status).toBe('matched');
    await expectMoneyConserved(app.db.sql);
  });
});

describe('GET /users/me/orders', () => {
  it('lists the orders the caller created or joined, newest first, filtered by role and status', async () => {
    const me = await signUp(app.server.baseUrl, 'Lister');
    const other = await signUp(app.server.baseUrl, 'Other');
    const open = (user: TestUser) =>
      openOrder(user, {
        store_id: odd.id,
        split_type: 'split',
        items: [{ menu_id: odd.menus.small, quantity: 3 }],
        delivery: deliveryAt(uniqueSpot()),
      });
    const mineMatched = await open(me);
    await joinOrder(other, mineMatched.order.id, mineMatched.etag);
    const minePending = await open(me);
    const theirs = await open(other);
    const joined = await joinOrder(me, theirs.order.id, theirs.etag);
    const unrelated = await open(other); // neither created nor joined by me

    const list = async (query: { role?: 'created' | 'joined'; status?: Schemas['Order']['status']; limit?: number; cursor?: string }) => {
      const { data, response } = await me.client.GET('/users/me/orders', { params: { query } });
      expect(response.status).toBe(200);
      return data!;
    };
    const all = await list({});
    expect(all.items.map((o) => o.id)).toEqual([theirs.order.id, minePending.order.id, mineMatched.order.id]);
    expect(all.items.map((o) => o.id)).not.toContain(unrelated.order.id);
    expect(all.items[0]).toEqual(joined.order);

    expect((await list({ role: 'created' })).items.map((o) => o.id)).toEqual([minePending.order.id, mineMatched.order.id]);
    expect((await list({ role: 'joined' })).items.map((o) => o.id)).toEqual([theirs.order.id]);
    expect((await list({ status: 'matched' })).items.map((o) => o.id)).toEqual([theirs.order.id, mineMatched.order.id]);
    expect((await list({ role: 'created', status: 'pending' })).items.map((o) => o.id)).toEqual([minePending.order.id]);
    expect((await list({ status: 'completed' })).items).toEqual([]);

    // Cursor pagination walks the same list one by one.
    const walked: string[] = [];
    let cursor: string | undefined;
    do {
      const pageOf = await list({ limit: 1, ...(cursor ? { cursor } : {}) });
      walked.push(...pageOf.items.map((o) => o.id));
      cursor = pageOf.next_cursor ?? undefined;
    } while (cursor);
    expect(walked).toEqual(all.items.map((o) => o.id));
    await expectMoneyConserved(app.db.sql);
  });

  it('pages without skipping orders created within the same millisecond', async () => {
    const me = await signUp(app.server.baseUrl, 'Fast');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { order } = await openOrder(me, {
        store_id: odd.id,
        split_type: 'split',
        items: [{ menu_id: odd.menus.big, quantity: 2 }],
        delivery: deliveryAt(uniqueSpot()),
      });
      ids.push(order.id);
    }
    // PostgreSQL keeps microseconds; a busy server creates several orders in one millisecond.
    const stamps = [
      '2030-01-01T00:00:00.123900Z',
      '2030-01-01T00:00:00.123456Z',
      '2030-01-01T00:00:00.123100Z',
      '2030-01-01T00:00:00.122999Z',
    ];
    for (const [i, id] of ids.entries()) {
      // ::text first: a timestamptz parameter would go through a JS Date and lose the microseconds.
      await app.db.sql`UPDATE orders SET created_at = ${stamps[i]}::text::timestamptz,
                                     expires_at = ${stamps[i]}::text::timestamptz + interval '30 minutes' WHERE id = ${id}`;
    }
    const walked: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const { data } = await me.client.GET('/users/me/orders', { params: { query: { limit: 1, ...(cursor ? { cursor } : {}) } } });
      walked.push(...data!.items.map((o) => o.id));
      cursor = data!.next_cursor ?? undefined;
      if (!cursor) break;
    }
    expect(walked).toEqual(ids);
    await expectMoneyConserved(app.db.sql);
  });
});

describe('notifications', () => {
  it('are written for matched (both), accepted (both) and cancelled (creator), and can be marked read', async () => {
    const creator = await signUp(app.server.baseUrl, 'Notified');
    const joiner = await signUp(app.server.baseUrl, 'Notified Joiner');
    const body = {
      store_id: odd.id,
      split_type: 'split' as const,
      items: [{ menu_id: odd.menus.big, quantity: 2 }],
      delivery: deliveryAt(uniqueSpot()),
    };
    const first = await openOrder(creator, body);
    const matched = await joinOrder(joiner, first.order.id, first.etag);
    const accepted = await staff.client.POST('/orders/{orderId}/accept', {
      params: { path: { orderId: first.order.id }, header: { 'If-Match': matched.etag } },
    });
    expect(accepted.response.status).toBe(200);

    const second = await openOrder(creator, body);
    const cancelled = await creator.client.POST('/orders/{orderId}/cancel', {
      params: { path: { orderId: second.order.id }, header: { 'If-Match': second.etag, 'Idempotency-Key': newKey() } },
    });
    expect(cancelled.response.status).toBe(200);
    expect(cancelled.data).toMatchObject({ status: 'cancelled', version: 2 });
    expect(cancelled.data!.cancelled_at).not.toBeNull();
    // The cancel refunded exactly what was charged.
    expect(await orderLedger(app.db.sql, second.order.id)).toEqual([
      { user_id: creator.user.id, kind: 'order_charge', amount: -first.order.shares.creator },
      { user_id: creator.user.id, kind: 'order_refund', amount: first.order.shares.creator },
    ]);

    const creatorNotes = await notificationsOf(creator);
    expect(creatorNotes.map((n) => [n.kind, n.order_id])).toEqual([
      ['order_cancelled', second.order.id],
      ['order_accepted', first.order.id],
      ['order_matched', first.order.id],
    ]);
    const joinerNotes = await notificationsOf(joiner);
    expect(joinerNotes.map((n) => [n.kind, n.order_id])).toEqual([
      ['order_accepted', first.order.id],
      ['order_matched', first.order.id],
    ]);
    expect([...creatorNotes, ...joinerNotes].every((n) => n.read_at === null && n.message.length > 0)).toBe(true);

    const target = creatorNotes[1];
    const read = await creator.client.POST('/users/me/notifications/{notificationId}/read', {
      params: { path: { notificationId: target.id } },
    });
    expect(read.response.status).toBe(200);
    expect(read.data).toMatchObject({ id: target.id, kind: 'order_accepted' });
    expect(read.data!.read_at).not.toBeNull();
    // Marking again keeps the first read time.
    const again = await creator.client.POST('/users/me/notifications/{notificationId}/read', {
      params: { path: { notificationId: target.id } },
    });
    expect(again.data!.read_at).toBe(read.data!.read_at);

    const unread = await creator.client.GET('/users/me/notifications', { params: { query: { unread: 'true' } } });
    expect(unread.data!.items.map((n) => n.id)).toEqual([creatorNotes[0].id, creatorNotes[2].id]);

    // Someone else's notification is not yours to mark.
    const foreign = await joiner.client.POST('/users/me/notifications/{notificationId}/read', {
      params: { path: { notificationId: creatorNotes[0].id } },
    });
    expect(foreign.response.status).toBe(404);
    await expectMoneyConserved(app.db.sql);
  });
});
