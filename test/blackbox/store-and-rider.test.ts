/**
 * The store's and the rider's side of an order, over HTTP against the real service: accept,
 * reject, ready, pick-up and deliver, who may do each (403 otherwise), what each one sees, the
 * refunds and the payout, the store's queue and ledger, the riders' lists, and what the database
 * itself refuses. Money is audited after every test that moves it, stores included.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { deliveryAt, insertStore, joinOrder, openOrder, orderLedger, uniqueSpot, type TestStore } from '../support/orders.js';
import { expectProblem, sdkAnswer } from '../support/problems.js';
import { useServer } from '../support/use-server.js';
import { expectMoneyConserved, newKey, signUp, signUpWithRoles, type TestUser } from '../support/world.js';

const app = useServer();
// Creator pays ceil(7001/2) + ceil(1999/2) = 4501; the joiner 3500 + 999 = 4499: 9000 in all.
const CREATOR_SHARE = 4501;
const JOINER_SHARE = 4499;
let store: TestStore;
let otherStore: TestStore;
let staff: TestUser;
let rider: TestUser;
let otherRider: TestUser;

beforeAll(async () => {
  store = await insertStore(app.db.sql, { minimum: 5000, tip: 1999, menus: { meal: 7001 } });
  otherStore = await insertStore(app.db.sql, { minimum: 5000, tip: 1999, menus: { meal: 7001 } });
  staff = await signUpWithRoles(app.server.baseUrl, 'Cook', { staff_of: [store.id] });
  rider = await signUpWithRoles(app.server.baseUrl, 'Rider', { rider: true });
  otherRider = await signUpWithRoles(app.server.baseUrl, 'Other Rider', { rider: true });
});

type Tagged = { id: string; etag: string };

async function matchedOrder(spot = uniqueSpot()): Promise<Tagged & { creator: TestUser; joiner: TestUser }> {
  const creator = await signUp(app.server.baseUrl, 'Creator');
  const joiner = await signUp(app.server.baseUrl, 'Joiner');
  const opened = await openOrder(creator, {
    store_id: store.id,
    split_type: 'split',
    items: [{ menu_id: store.menus.meal, quantity: 1 }],
    delivery: deliveryAt(spot),
  });
  const joined = await joinOrder(joiner, opened.order.id, opened.etag);
  return { id: opened.order.id, etag: joined.etag, creator, joiner };
}

const path = (orderId: string, etag: string, key: string) => ({
  params: { path: { orderId }, header: { 'If-Match': etag, 'Idempotency-Key': key } },
});

async function act(
  user: TestUser,
  action: 'accept' | 'reject' | 'ready' | 'pick-up' | 'deliver' | 'cancel',
  orderId: string,
  etag: string,
  key = newKey(),
) {
  const options = path(orderId, etag, key);
  const result =
    action === 'accept'
      ? await user.client.POST('/orders/{orderId}/accept', options)
      : action === 'reject'
        ? await user.client.POST('/orders/{orderId}/reject', options)
        : action === 'ready'
          ? await user.client.POST('/orders/{orderId}/ready', options)
          : action === 'pick-up'
            ? await user.client.POST('/orders/{orderId}/pick-up', options)
            : action === 'deliver'
              ? await user.client.POST('/orders/{orderId}/deliver', options)
              : await user.client.POST('/orders/{orderId}/cancel', options);
  return { ...result, etag: result.response.headers.get('etag') ?? '' };
}

async function ok(user: TestUser, action: Parameters<typeof act>[1], orderId: string, etag: string) {
  const result = await act(user, action, orderId, etag);
  expect(result.response.status, JSON.stringify(result.error)).toBe(200);
  return result;
}

const view = async (user: TestUser, orderId: string) =>
  (await user.client.GET('/orders/{orderId}', { params: { path: { orderId } } })).data!;

describe('the lifecycle from match to delivery', () => {
  it('accept → ready → pick-up → deliver completes the order and pays the store exactly what it held', async () => {
    const order = await matchedOrder();
    const accepted = await ok(staff, 'accept', order.id, order.etag);
    expect(accepted.data).toMatchObject({ view: 'fulfilment', status: 'accepted', version: 3 });
    const ready = await ok(staff, 'ready', order.id, accepted.etag);
    expect(ready.data).toMatchObject({ status: 'ready', version: 4 });
    const picked = await ok(rider, 'pick-up', order.id, ready.etag);
    expect(picked.data).toMatchObject({ view: 'fulfilment', status: 'picked_up', version: 5 });
    const delivered = await ok(rider, 'deliver', order.id, picked.etag);
    expect(delivered.data).toMatchObject({ status: 'completed', version: 6 });
    for (const stamp of ['accepted_at', 'ready_at', 'picked_up_at', 'completed_at'] as const) expect(delivered.data![stamp]).not.toBeNull();

    const ledger = await staff.client.GET('/stores/{storeId}/ledger', { params: { path: { storeId: store.id }, query: {} } });
    expect(ledger.response.status).toBe(200);
    expect(ledger.data!.items[0]).toMatchObject({ kind: 'order_payout', amount: CREATOR_SHARE + JOINER_SHARE, order_id: order.id });
    expect(ledger.data!.balance).toBe(ledger.data!.items[0].balance_after);
    // The participants' money moved once each way: charged, then paid out.
    expect((await orderLedger(app.db.sql, order.id)).map((r) => r.kind)).toEqual(['order_charge', 'order_charge']);

    const kinds = await app.db.sql`
      SELECT kind, count(*)::int AS n FROM notifications WHERE order_id = ${order.id} GROUP BY kind ORDER BY kind`;
    expect(kinds).toEqual(
      ['order_accepted', 'order_delivered', 'order_matched', 'order_picked_up', 'order_ready'].map((kind) => ({ kind, n: 2 })),
    );
    await expectMoneyConserved(app.db.sql);
  });

  it('shows the delivery address to participants, staff and the rider who picked it up, never to others', async () => {
    const order = await matchedOrder();
    const neighbour = await signUp(app.server.baseUrl, 'Neighbour');
    expect((await view(staff, order.id)).view).toBe('fulfilment');
    expect((await view(rider, order.id)).view).toBe('public');
    const accepted = await ok(staff, 'accept', order.id, order.etag);
    const ready = await ok(staff, 'ready', order.id, accepted.etag);
    await ok(rider, 'pick-up', order.id, ready.etag);
    const seen = await view(rider, order.id);
    expect(seen.view).toBe('fulfilment');
    expect(seen).toHaveProperty('delivery.address');
    expect(seen).not.toHaveProperty('creator_id');
    expect(JSON.stringify(seen)).not.toContain(order.creator.user.id);
    for (const outsider of [otherRider, neighbour]) {
      const got = await view(outsider, order.id);
      expect(got.view).toBe('public');
      expect(got).not.toHaveProperty('delivery');
    }
    expect((await view(order.joiner, order.id)).view).toBe('participant');
  });
});

describe('who may act', () => {
  it('refuses store actions to anyone but its staff (403), and rider actions to anyone but riders', async () => {
    const order = await matchedOrder();
    const staffElsewhere = await signUpWithRoles(app.server.baseUrl, 'Cook Elsewhere', { staff_of: [otherStore.id] });
    for (const user of [order.creator, order.joiner, rider, staffElsewhere]) {
      expectProblem(sdkAnswer(await act(user, 'accept', order.id, order.etag)), 403, 'forbidden');
      expectProblem(sdkAnswer(await act(user, 'reject', order.id, order.etag)), 403, 'forbidden');
    }
    const accepted = await ok(staff, 'accept', order.id, order.etag);
    expectProblem(sdkAnswer(await act(rider, 'ready', order.id, accepted.etag)), 403, 'forbidden');
    const ready = await ok(staff, 'ready', order.id, accepted.etag);
    for (const user of [staff, order.creator]) expectProblem(sdkAnswer(await act(user, 'pick-up', order.id, ready.etag)), 403, 'forbidden');
    const picked = await ok(rider, 'pick-up', order.id, ready.etag);
    for (const user of [otherRider, staff, order.creator]) {
      expectProblem(sdkAnswer(await act(user, 'deliver', order.id, picked.etag)), 403, 'forbidden');
    }
    await ok(rider, 'deliver', order.id, picked.etag);
    await expectMoneyConserved(app.db.sql);
  });

  it('refuses a step out of turn with 409, and a stale If-Match with 412 and the current order', async () => {
    const order = await matchedOrder();
    expectProblem(sdkAnswer(await act(rider, 'pick-up', order.id, '*')), 409, 'order_not_ready');
    expectProblem(sdkAnswer(await act(staff, 'ready', order.id, '*')), 409, 'order_not_accepted');
    const accepted = await ok(staff, 'accept', order.id, order.etag);
    const stale = expectProblem(sdkAnswer(await act(staff, 'ready', order.id, order.etag)), 412, 'precondition_failed');
    expect(stale.current).toMatchObject({ id: order.id, status: 'accepted', view: 'fulfilment' });
    expectProblem(sdkAnswer(await act(order.creator, 'cancel', order.id, accepted.etag)), 409, 'order_not_cancellable');
    expectProblem(sdkAnswer(await act(rider, 'deliver', order.id, '*')), 403, 'forbidden');
  });

  it('refuses an accept past accept_by (409), while the store may still reject', async () => {
    const order = await matchedOrder();
    await app.db.sql`UPDATE orders SET accept_by = now() - interval '1 second' WHERE id = ${order.id}`;
    expectProblem(sdkAnswer(await act(staff, 'accept', order.id, order.etag)), 409, 'accept_deadline_passed');
    const rejected = await ok(staff, 'reject', order.id, order.etag);
    expect(rejected.data!.status).toBe('rejected');
    await expectMoneyConserved(app.db.sql);
  });

  it('needs an Idempotency-Key on reject and deliver (400), and If-Match on every action (428)', async () => {
    const order = await matchedOrder();
    const noKey = await staff.client.POST('/orders/{orderId}/reject', {
      params: { path: { orderId: order.id }, header: { 'If-Match': order.etag } },
    } as never);
    expectProblem(sdkAnswer(noKey), 400, 'idempotency_key_missing');
    const noTag = await fetch(`${app.server.baseUrl}/orders/${order.id}/accept`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${staff.token}` },
    });
    expect(noTag.status).toBe(428);
  });
});

describe('money back before the store accepts', () => {
  it('refunds both participants in full when either cancels a matched order', async () => {
    const order = await matchedOrder();
    const cancelled = await ok(order.joiner, 'cancel', order.id, order.etag);
    expect(cancelled.data).toMatchObject({ status: 'cancelled', view: 'participant', joiner_id: order.joiner.user.id });
    expect((await orderLedger(app.db.sql, order.id)).map((r) => [r.user_id, r.kind, r.amount])).toEqual([
      [order.creator.user.id, 'order_charge', -CREATOR_SHARE],
      [order.joiner.user.id, 'order_charge', -JOINER_SHARE],
      [order.creator.user.id, 'order_refund', CREATOR_SHARE],
      [order.joiner.user.id, 'order_refund', JOINER_SHARE],
    ]);
    await expectMoneyConserved(app.db.sql);
  });

  it('refunds both once when the store rejects, and replays a retried reject without a second effect', async () => {
    const order = await matchedOrder();
    const key = newKey();
    const first = await act(staff, 'reject', order.id, order.etag, key);
    const again = await act(staff, 'reject', order.id, order.etag, key);
    expect(first.response.status).toBe(200);
    expect(again.response.status).toBe(200);
    expect(again.response.headers.get('idempotent-replayed')).toBe('true');
    expect(again.data).toEqual(first.data);
    expect((await orderLedger(app.db.sql, order.id)).filter((r) => r.kind === 'order_refund')).toHaveLength(2);
    const notes = await app.db.sql`SELECT user_id FROM notifications WHERE order_id = ${order.id} AND kind = 'order_rejected'`;
    expect(notes).toHaveLength(2);
    await expectMoneyConserved(app.db.sql);
  });
});

describe('riders race for a pick-up', () => {
  it('lets exactly one of several riders pick up a ready order; the others get 412 with the public view', async () => {
    const order = await matchedOrder();
    const accepted = await ok(staff, 'accept', order.id, order.etag);
    const ready = await ok(staff, 'ready', order.id, accepted.etag);
    const riders = await Promise.all([1, 2, 3, 4].map((n) => signUpWithRoles(app.server.baseUrl, `Racer ${n}`, { rider: true })));
    const answers = await Promise.all(riders.map((r) => act(r, 'pick-up', order.id, ready.etag)));
    const winners = answers.filter((a) => a.response.status === 200);
    expect(winners).toHaveLength(1);
    for (const loser of answers.filter((a) => a.response.status !== 200)) {
      const problem = expectProblem(sdkAnswer(loser), 412, 'precondition_failed');
      expect(problem.current).toMatchObject({ view: 'public', status: 'picked_up' });
    }
    const [{ rider_id }] = await app.db.sql`SELECT rider_id FROM orders WHERE id = ${order.id}`;
    expect(rider_id).toBe(riders[answers.indexOf(winners[0])].user.id);
  });
});

describe('reads for staff and riders', () => {
  it("lists the store's queue for its staff only, with an ETag that stays put until the queue changes", async () => {
    const order = await matchedOrder();
    const queue = () => staff.client.GET('/stores/{storeId}/orders', { params: { path: { storeId: store.id }, query: { limit: 100 } } });
    const first = await queue();
    expect(first.response.status).toBe(200);
    expect(first.data!.items.map((o) => o.id)).toContain(order.id);
    expect(
      first.data!.items.every((o) => o.view === 'fulfilment' && ['matched', 'accepted', 'ready', 'picked_up'].includes(o.status)),
    ).toBe(true);
    const tag = first.response.headers.get('etag')!;
    const polled = await fetch(`${app.server.baseUrl}/stores/${store.id}/orders?limit=100`, {
      headers: { Authorization: `Bearer ${staff.token}`, 'If-None-Match': tag },
    });
    expect(polled.status).toBe(304);
    await ok(staff, 'accept', order.id, order.etag);
    const changed = await fetch(`${app.server.baseUrl}/stores/${store.id}/orders?limit=100`, {
      headers: { Authorization: `Bearer ${staff.token}`, 'If-None-Match': tag },
    });
    expect(changed.status).toBe(200);
    const accepted = await staff.client.GET('/stores/{storeId}/orders', {
      params: { path: { storeId: store.id }, query: { status: 'accepted' } },
    });
    expect(accepted.data!.items.map((o) => o.id)).toContain(order.id);

    for (const outsider of [rider, order.creator]) {
      expectProblem(
        sdkAnswer(await outsider.client.GET('/stores/{storeId}/orders', { params: { path: { storeId: store.id }, query: {} } })),
        403,
        'forbidden',
      );
      expectProblem(
        sdkAnswer(await outsider.client.GET('/stores/{storeId}/ledger', { params: { path: { storeId: store.id }, query: {} } })),
        403,
        'forbidden',
      );
    }
  });

  it('shows riders ready orders near them, nearest store first and without an address; then their own deliveries', async () => {
    const order = await matchedOrder();
    const accepted = await ok(staff, 'accept', order.id, order.etag);
    const ready = await ok(staff, 'ready', order.id, accepted.etag);
    // The test store stands at (35.8468, 127.1297).
    const near = await rider.client.GET('/deliveries', { params: { query: { lat: 35.8468, lon: 127.1297, limit: 100 } } });
    expect(near.response.status).toBe(200);
    const offer = near.data!.items.find((o) => o.id === order.id)!;
    expect(offer).toMatchObject({ view: 'public', status: 'ready', distance_m: 0 });
    expect(offer).not.toHaveProperty('delivery');
    expect(near.data!.included.stores.map((s) => s.id)).toContain(store.id);
    const distances = near.data!.items.map((o) => o.distance_m);
    expect(distances).toEqual([...distances].sort((a, b) => a - b));
    const far = await rider.client.GET('/deliveries', { params: { query: { lat: 37.4979, lon: 127.0276 } } });
    expect(far.data!.items.map((o) => o.id)).not.toContain(order.id);
    expectProblem(
      sdkAnswer(await staff.client.GET('/deliveries', { params: { query: { lat: 35.8468, lon: 127.1297 } } })),
      403,
      'forbidden',
    );

    await ok(rider, 'pick-up', order.id, ready.etag);
    const mine = await rider.client.GET('/users/me/deliveries', { params: { query: {} } });
    expect(mine.data!.items[0]).toMatchObject({ id: order.id, view: 'fulfilment', status: 'picked_up' });
    expect(mine.data!.items[0].delivery.address).toBeTruthy();
    const others = await otherRider.client.GET('/users/me/deliveries', { params: { query: {} } });
    expect(others.data!.items.map((o) => o.id)).not.toContain(order.id);
  });
});

describe('the development login', () => {
  it('grants roles by staff_of and rider, and refuses an unknown store with 422', async () => {
    const anonymous = await fetch(`${app.server.baseUrl}/auth/dev/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: `nobody-${newKey()}@example.com`, name: 'Nobody', staff_of: [newKey()] }),
    });
    expect(anonymous.status).toBe(422);
    expect(((await anonymous.json()) as { code: string }).code).toBe('unknown_store');
  });
});

describe('what the database refuses by itself', () => {
  it('a second payout, a refund after a payout, a payout of an unfinished order, a negative store balance', async () => {
    const order = await matchedOrder();
    const accepted = await ok(staff, 'accept', order.id, order.etag);
    const ready = await ok(staff, 'ready', order.id, accepted.etag);
    const picked = await ok(rider, 'pick-up', order.id, ready.etag);
    const pending = await matchedOrder();
    const refusals = {
      payoutOfUnfinished: app.db.sql`
        INSERT INTO store_accounts (store_id) VALUES (${store.id}) ON CONFLICT DO NOTHING;`.then(
        () => app.db.sql`INSERT INTO store_ledger (store_id, kind, amount, balance_after, order_id)
                         VALUES (${store.id}, 'order_payout', 9000, 9000, ${pending.id})`,
      ),
    };
    await expect(refusals.payoutOfUnfinished).rejects.toThrow(/not completed/);
    await ok(rider, 'deliver', order.id, picked.etag);
    await expect(
      app.db.sql`INSERT INTO store_ledger (store_id, kind, amount, balance_after, order_id)
                 VALUES (${store.id}, 'order_payout', 9000, 9000, ${order.id})`,
    ).rejects.toThrow(/store_ledger_once_per_order/);
    await expect(
      app.db.sql`INSERT INTO credit_ledger (user_id, kind, amount, balance_after, order_id)
                 VALUES (${order.creator.user.id}, 'order_refund', ${CREATOR_SHARE}, 100000, ${order.id})`,
    ).rejects.toThrow(/paid out/);
    await expect(app.db.sql`UPDATE store_accounts SET balance = -1 WHERE store_id = ${store.id}`).rejects.toThrow(/check/);
    await expect(app.db.sql`DELETE FROM store_ledger WHERE order_id = ${order.id}`).rejects.toThrow(/append-only/);
    // A refund of more than was charged, on an order nothing left yet.
    await expect(
      app.db.sql`INSERT INTO credit_ledger (user_id, kind, amount, balance_after, order_id)
                 VALUES (${pending.creator.user.id}, 'order_refund', ${CREATOR_SHARE + 1}, 100000, ${pending.id})`,
    ).rejects.toThrow(/exactly the charge/);
    await expectMoneyConserved(app.db.sql);
  });
});
