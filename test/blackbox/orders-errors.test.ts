/**
 * Every error status the order endpoints can return (400, 401, 402, 403, 404, 409, 412, 413, 415,
 * 422, 428), each triggered over HTTP, and checked to have changed nothing (no order, no ledger
 * row, no version bump).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  balanceOf,
  deliveryAt,
  insertStore,
  joinOrder,
  openOrder,
  orderLedger,
  rawRequest,
  uniqueSpot,
  type Order,
  type TestStore,
} from '../support/orders.js';
import { useServer } from '../support/use-server.js';
import { expectLedgerBalanced, newKey, signUp, signUpWithRoles, type TestUser } from '../support/world.js';

const app = useServer();
let store: TestStore;
let otherStore: TestStore;
let staff: TestUser;

beforeAll(async () => {
  store = await insertStore(app.db.sql, { minimum: 15_000, tip: 3001, menus: { big: 10_001, small: 5003 } });
  otherStore = await insertStore(app.db.sql, { minimum: 1000, tip: 1000, menus: { elsewhere: 9000 } });
  staff = await signUpWithRoles(app.server.baseUrl, 'Cook', { staff_of: [store.id] });
});

const splitBody = (quantity = 2) => ({
  store_id: store.id,
  split_type: 'split' as const,
  items: [{ menu_id: store.menus.big, quantity }],
  delivery: deliveryAt(uniqueSpot()),
});

function expectProblem(result: { response: Response; error?: unknown }, status: number, code: string): Record<string, unknown> {
  const problem = result.error as Record<string, unknown>;
  expect({ status: result.response.status, code: problem?.code }).toEqual({ status, code });
  expect(result.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(problem).toMatchObject({ type: `https://co-order.dev/problems/${code}`, status });
  expect(typeof problem.title).toBe('string');
  expect(typeof problem.detail).toBe('string');
  expect(typeof problem.request_id).toBe('string');
  return problem;
}

const join = (user: TestUser, orderId: string, etag: string, body?: { items?: { menu_id: string; quantity: number }[] }) =>
  user.client.POST('/orders/{orderId}/join', {
    params: { path: { orderId }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
    ...(body ? { body } : {}),
  });
const cancel = (user: TestUser, orderId: string, etag: string) =>
  user.client.POST('/orders/{orderId}/cancel', {
    params: { path: { orderId }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
  });
const expire = (user: TestUser, orderId: string, etag: string) =>
  user.client.POST('/orders/{orderId}/expire', { params: { path: { orderId }, header: { 'If-Match': etag } } });
const accept = (user: TestUser, orderId: string, etag: string) =>
  user.client.POST('/orders/{orderId}/accept', { params: { path: { orderId }, header: { 'If-Match': etag } } });

async function expectUnchanged(user: TestUser, before: Order) {
  const now = await user.client.GET('/orders/{orderId}', { params: { path: { orderId: before.id } } });
  expect(now.data).toEqual(before);
}

describe('400 bad request', () => {
  it('rejects a body that violates the schema, naming the fields', async () => {
    const user = await signUp(app.server.baseUrl);
    const result = await user.client.POST('/orders', {
      params: { header: { 'Idempotency-Key': newKey() } },
      // @ts-expect-error — deliberately outside the contract
      body: { store_id: store.id, split_type: 'both', items: [{ menu_id: store.menus.big, quantity: 0 }] },
    });
    const problem = expectProblem(result, 400, 'validation_failed');
    const paths = (problem.errors as { path: string }[]).map((e) => e.path).join(' ');
    expect(paths).toContain('split_type');
    expect(paths).toContain('quantity');
  });

  it('rejects malformed JSON and unknown fields', async () => {
    const user = await signUp(app.server.baseUrl);
    const malformed = await rawRequest(app.server.baseUrl, 'POST', '/orders', {
      token: user.token,
      headers: { 'Idempotency-Key': newKey() },
      body: '{"store_id": ',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ status: 400 });
    const unknown = await user.client.POST('/orders', {
      params: { header: { 'Idempotency-Key': newKey() } },
      body: { ...splitBody(), price: 1 } as never,
    });
    expectProblem(unknown, 400, 'validation_failed');
    expect(await app.db.sql`SELECT 1 FROM orders WHERE creator_id = ${user.user.id}`).toHaveLength(0);
  });

  it('rejects an order id that is not a uuid', async () => {
    const user = await signUp(app.server.baseUrl);
    expectProblem(await user.client.GET('/orders/{orderId}', { params: { path: { orderId: 'not-a-uuid' } } }), 400, 'validation_failed');
    expectProblem(await join(user, 'not-a-uuid', '"v1"'), 400, 'validation_failed');
    expectProblem(await cancel(user, '1234', '"v1"'), 400, 'validation_failed');
  });

  it('rejects a bad nearby query (radius over 3000 m, no latitude)', async () => {
    const user = await signUp(app.server.baseUrl);
    expectProblem(
      await user.client.GET('/orders', { params: { query: { lat: 35.8, lon: 127.1, radius_m: 3001 } } }),
      400,
      'validation_failed',
    );
    const noLat = await rawRequest(app.server.baseUrl, 'GET', '/orders?lon=127.1', { token: user.token });
    expect(noLat.status).toBe(400);
    expect(noLat.body).toMatchObject({ code: 'validation_failed' });
  });

  it('requires an Idempotency-Key on create, join and cancel', async () => {
    const creator = await signUp(app.server.baseUrl);
    const joiner = await signUp(app.server.baseUrl);
    const noKey = await rawRequest(app.server.baseUrl, 'POST', '/orders', { token: creator.token, body: JSON.stringify(splitBody()) });
    expect(noKey.status).toBe(400);
    expect(noKey.body).toMatchObject({ code: 'idempotency_key_missing' });

    const { order, etag } = await openOrder(creator, splitBody());
    const joinNoKey = await rawRequest(app.server.baseUrl, 'POST', `/orders/${order.id}/join`, {
      token: joiner.token,
      headers: { 'If-Match': etag },
    });
    expect(joinNoKey.status).toBe(400);
    expect(joinNoKey.body).toMatchObject({ code: 'idempotency_key_missing' });
    const cancelNoKey = await rawRequest(app.server.baseUrl, 'POST', `/orders/${order.id}/cancel`, {
      token: creator.token,
      headers: { 'If-Match': etag },
    });
    expect(cancelNoKey.status).toBe(400);
    await expectUnchanged(creator, order);
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('401 unauthenticated', () => {
  it('answers 401 without a token or with a bad one, on reads and actions', async () => {
    const noToken = await rawRequest(app.server.baseUrl, 'GET', `/orders?lat=35.8&lon=127.1`);
    expect(noToken.status).toBe(401);
    expect(noToken.body).toMatchObject({ code: 'unauthorized', status: 401 });
    const badToken = await rawRequest(app.server.baseUrl, 'POST', '/orders', {
      token: 'not.a.jwt',
      headers: { 'Idempotency-Key': newKey() },
      body: JSON.stringify(splitBody()),
    });
    expect(badToken.status).toBe(401);
    const join401 = await rawRequest(app.server.baseUrl, 'POST', `/orders/${crypto.randomUUID()}/join`, {
      headers: { 'If-Match': '"v1"', 'Idempotency-Key': newKey() },
    });
    expect(join401.status).toBe(401);
  });
});

describe('402 not enough credit', () => {
  it('refuses to create an order whose share exceeds the balance, and changes nothing', async () => {
    const user = await signUp(app.server.baseUrl, 'Poor');
    // 10 × 10001 = 100010: the creator's share is 50005 + 1501 = 51506 > 50000.
    const result = await user.client.POST('/orders', { params: { header: { 'Idempotency-Key': newKey() } }, body: splitBody(10) });
    expectProblem(result, 402, 'insufficient_credit');
    expect(await balanceOf(app.db.sql, user.user.id)).toBe(50_000);
    expect(await app.db.sql`SELECT 1 FROM orders WHERE creator_id = ${user.user.id}`).toHaveLength(0);
    expect(await app.db.sql`SELECT kind FROM credit_ledger WHERE user_id = ${user.user.id}`).toEqual([{ kind: 'signup_grant' }]);
    await expectLedgerBalanced(app.db.sql);
  });

  it('refuses a join whose share exceeds the balance, leaving the order pending at its version', async () => {
    const creator = await signUp(app.server.baseUrl, 'Rich');
    const joiner = await signUp(app.server.baseUrl, 'Poor Joiner');
    const topUp = await creator.client.POST('/users/me/credit/top-ups', {
      params: { header: { 'Idempotency-Key': newKey() } },
      body: { amount: 10_000 },
    });
    expect(topUp.response.status).toBe(201);
    const { order, etag } = await openOrder(creator, splitBody(10));
    // The joiner's share is 50005 + 1500 = 51505 > 50000.
    expect(order.shares).toEqual({ creator: 51_506, joiner: 51_505 });

    expectProblem(await join(joiner, order.id, etag), 402, 'insufficient_credit');
    await expectUnchanged(creator, order);
    expect(await balanceOf(app.db.sql, joiner.user.id)).toBe(50_000);
    expect(await orderLedger(app.db.sql, order.id)).toEqual([{ user_id: creator.user.id, kind: 'order_charge', amount: -51_506 }]);

    // Exactly enough is enough: the balance may reach zero, never below.
    await joiner.client.POST('/users/me/credit/top-ups', { params: { header: { 'Idempotency-Key': newKey() } }, body: { amount: 1505 } });
    await joinOrder(joiner, order.id, etag);
    expect(await balanceOf(app.db.sql, joiner.user.id)).toBe(0);
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('403 not yours', () => {
  it("refuses to cancel someone else's order and to accept an order for a store you are not staff of", async () => {
    const creator = await signUp(app.server.baseUrl);
    const joiner = await signUp(app.server.baseUrl);
    const stranger = await signUp(app.server.baseUrl);
    const { order, etag } = await openOrder(creator, splitBody());
    expectProblem(await cancel(stranger, order.id, etag), 403, 'forbidden');
    // Not even the (future) joiner may cancel: only the creator.
    expectProblem(await cancel(joiner, order.id, etag), 403, 'forbidden');
    await expectUnchanged(creator, order);

    const matched = await joinOrder(joiner, order.id, etag);
    expectProblem(await accept(stranger, order.id, matched.etag), 403, 'forbidden');
    expectProblem(await accept(creator, order.id, matched.etag), 403, 'forbidden');
    await expectUnchanged(creator, matched.order);
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('404 unknown', () => {
  it('answers 404 for an unknown order on read and every action, and for an unknown store at create', async () => {
    const user = await signUp(app.server.baseUrl);
    const orderId = crypto.randomUUID();
    expectProblem(await user.client.GET('/orders/{orderId}', { params: { path: { orderId } } }), 404, 'not_found');
    expectProblem(await join(user, orderId, '"v1"'), 404, 'not_found');
    expectProblem(await cancel(user, orderId, '"v1"'), 404, 'not_found');
    expectProblem(await expire(user, orderId, '"v1"'), 404, 'not_found');
    expectProblem(await accept(user, orderId, '"v1"'), 404, 'not_found');
    const unknownStore = await user.client.POST('/orders', {
      params: { header: { 'Idempotency-Key': newKey() } },
      body: { ...splitBody(), store_id: crypto.randomUUID() },
    });
    expectProblem(unknownStore, 404, 'not_found');
    expect(await balanceOf(app.db.sql, user.user.id)).toBe(50_000);
  });
});

describe('409 wrong state', () => {
  it('refuses to join a matched order, cancel an accepted one, and accept a pending one', async () => {
    const creator = await signUp(app.server.baseUrl);
    const joiner = await signUp(app.server.baseUrl);
    const late = await signUp(app.server.baseUrl);
    const { order, etag } = await openOrder(creator, splitBody());
    expectProblem(await accept(staff, order.id, etag), 409, 'order_not_matched');
    await expectUnchanged(creator, order);

    const matched = await joinOrder(joiner, order.id, etag);
    // With the current ETag, so it is the state that refuses, not the version.
    expectProblem(await join(late, order.id, matched.etag), 409, 'order_not_pending');
    expectProblem(await expire(creator, order.id, matched.etag), 409, 'order_not_pending');
    await expectUnchanged(creator, matched.order);
    // Once the store has accepted, neither participant may cancel.
    const accepted = await accept(staff, order.id, matched.etag);
    expect(accepted.response.status).toBe(200);
    const acceptedTag = accepted.response.headers.get('etag')!;
    expectProblem(await cancel(creator, order.id, acceptedTag), 409, 'order_not_cancellable');
    expectProblem(await cancel(joiner, order.id, acceptedTag), 409, 'order_not_cancellable');
    expect(await balanceOf(app.db.sql, late.user.id)).toBe(50_000);
    expect((await orderLedger(app.db.sql, order.id)).map((r) => r.kind)).toEqual(['order_charge', 'order_charge']);
    await expectLedgerBalanced(app.db.sql);
  });

  it('refuses to expire an order before its expires_at', async () => {
    const creator = await signUp(app.server.baseUrl);
    const anyone = await signUp(app.server.baseUrl);
    const { order, etag } = await openOrder(creator, splitBody());
    expectProblem(await expire(anyone, order.id, etag), 409, 'order_not_yet_expired');
    expectProblem(await expire(creator, order.id, etag), 409, 'order_not_yet_expired');
    await expectUnchanged(creator, order);
    expect(await orderLedger(app.db.sql, order.id)).toHaveLength(1);
    await expectLedgerBalanced(app.db.sql);
  });

  it('refuses a join after expires_at even before the sweeper has written the expiry', async () => {
    const creator = await signUp(app.server.baseUrl);
    const joiner = await signUp(app.server.baseUrl);
    const { order, etag } = await openOrder(creator, splitBody());
    await app.db.sql`UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = ${order.id}`;
    expectProblem(await join(joiner, order.id, etag), 409, 'order_expired');
    // Cancelling is refused too: the order is expired in effect, the expiry refunds it.
    expectProblem(await cancel(creator, order.id, etag), 409, 'order_expired');
    const still = await creator.client.GET('/orders/{orderId}', { params: { path: { orderId: order.id } } });
    expect(still.data).toMatchObject({ status: 'pending', version: 1, joiner_id: null });
    expect(await balanceOf(app.db.sql, joiner.user.id)).toBe(50_000);
    expect(await orderLedger(app.db.sql, order.id)).toEqual([
      { user_id: creator.user.id, kind: 'order_charge', amount: -order.shares.creator },
    ]);
    await expectLedgerBalanced(app.db.sql);
  });

  it('refuses to cancel twice', async () => {
    const creator = await signUp(app.server.baseUrl);
    const { order, etag } = await openOrder(creator, splitBody());
    const first = await cancel(creator, order.id, etag);
    expect(first.response.status).toBe(200);
    expectProblem(await cancel(creator, order.id, first.response.headers.get('etag')!), 409, 'order_not_cancellable');
    expect((await orderLedger(app.db.sql, order.id)).map((r) => r.kind)).toEqual(['order_charge', 'order_refund']);
    expect(await balanceOf(app.db.sql, creator.user.id)).toBe(50_000);
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('412 stale If-Match', () => {
  it('answers with the current order in the body and its ETag in the header', async () => {
    const creator = await signUp(app.server.baseUrl);
    const joiner = await signUp(app.server.baseUrl);
    const late = await signUp(app.server.baseUrl);
    const { order, etag } = await openOrder(creator, splitBody());
    const matched = await joinOrder(joiner, order.id, etag);

    // Each is told the order as they may see it: the creator all of it, the latecomer what any neighbour may.
    const seenByLate = (await late.client.GET('/orders/{orderId}', { params: { path: { orderId: order.id } } })).data;
    expect(seenByLate).toMatchObject({ view: 'public', id: order.id, status: 'matched', version: matched.order.version });
    const seenByStaff = (await staff.client.GET('/orders/{orderId}', { params: { path: { orderId: order.id } } })).data;
    expect(seenByStaff).toMatchObject({ view: 'fulfilment', id: order.id });
    for (const [result, seen] of [
      [await join(late, order.id, etag), seenByLate],
      [await cancel(creator, order.id, etag), matched.order],
      [await accept(staff, order.id, etag), seenByStaff],
    ] as const) {
      const problem = expectProblem(result, 412, 'precondition_failed');
      expect(result.response.headers.get('etag')).toBe(matched.etag);
      expect(problem.current).toEqual(seen);
    }
    // A tag the service never issued, or a weak one, never matches.
    for (const tag of ['"v99"', 'W/"v2"', '"something"']) {
      const result = await accept(staff, order.id, tag);
      expectProblem(result, 412, 'precondition_failed');
      expect(result.response.headers.get('etag')).toBe(matched.etag);
    }
    await expectUnchanged(creator, matched.order);
    expect(await balanceOf(app.db.sql, late.user.id)).toBe(50_000);
    await expectLedgerBalanced(app.db.sql);
  });

  it('lets If-Match: * match whatever the version', async () => {
    const creator = await signUp(app.server.baseUrl);
    const joiner = await signUp(app.server.baseUrl);
    const { order } = await openOrder(creator, splitBody());
    const matched = await joinOrder(joiner, order.id, '*');
    expect(matched.order).toMatchObject({ status: 'matched', version: 2 });
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('422 semantically impossible', () => {
  it('refuses to join your own order', async () => {
    const creator = await signUp(app.server.baseUrl);
    const { order, etag } = await openOrder(creator, splitBody());
    expectProblem(await join(creator, order.id, etag), 422, 'own_order');
    await expectUnchanged(creator, order);
    expect(await balanceOf(app.db.sql, creator.user.id)).toBe(50_000 - order.shares.creator);
    await expectLedgerBalanced(app.db.sql);
  });

  it('refuses a split order whose menu total is below the store minimum', async () => {
    const user = await signUp(app.server.baseUrl);
    // 10001 < 15000.
    const result = await user.client.POST('/orders', { params: { header: { 'Idempotency-Key': newKey() } }, body: splitBody(1) });
    expectProblem(result, 422, 'minimum_order_not_met');
    expect(await balanceOf(app.db.sql, user.user.id)).toBe(50_000);
    expect(await app.db.sql`SELECT 1 FROM orders WHERE creator_id = ${user.user.id}`).toHaveLength(0);
  });

  it('accepts a separate order below the minimum, but refuses a join that leaves the total below it', async () => {
    const creator = await signUp(app.server.baseUrl);
    const joiner = await signUp(app.server.baseUrl);
    const { order, etag } = await openOrder(creator, {
      store_id: store.id,
      split_type: 'separate',
      items: [{ menu_id: store.menus.small, quantity: 1 }],
      delivery: deliveryAt(uniqueSpot()),
    });
    // 5003 + 5003 = 10006 < 15000.
    expectProblem(
      await join(joiner, order.id, etag, { items: [{ menu_id: store.menus.small, quantity: 1 }] }),
      422,
      'minimum_order_not_met',
    );
    await expectUnchanged(creator, order);
    expect(await balanceOf(app.db.sql, joiner.user.id)).toBe(50_000);
    // 5003 + 10001 = 15004: enough.
    await joinOrder(joiner, order.id, etag, { items: [{ menu_id: store.menus.big, quantity: 1 }] });
    await expectLedgerBalanced(app.db.sql);
  });

  it('refuses a menu of another store, at create and at a separate join', async () => {
    const creator = await signUp(app.server.baseUrl);
    const joiner = await signUp(app.server.baseUrl);
    const foreign = await creator.client.POST('/orders', {
      params: { header: { 'Idempotency-Key': newKey() } },
      body: {
        ...splitBody(),
        items: [
          { menu_id: store.menus.big, quantity: 2 },
          { menu_id: otherStore.menus.elsewhere, quantity: 1 },
        ],
      },
    });
    expectProblem(foreign, 422, 'menu_not_in_store');
    expect(await balanceOf(app.db.sql, creator.user.id)).toBe(50_000);

    const { order, etag } = await openOrder(creator, {
      store_id: store.id,
      split_type: 'separate',
      items: [{ menu_id: store.menus.big, quantity: 1 }],
      delivery: deliveryAt(uniqueSpot()),
    });
    expectProblem(
      await join(joiner, order.id, etag, { items: [{ menu_id: otherStore.menus.elsewhere, quantity: 1 }] }),
      422,
      'menu_not_in_store',
    );
    // An unknown menu id is not on the store's menu either.
    expectProblem(await join(joiner, order.id, etag, { items: [{ menu_id: crypto.randomUUID(), quantity: 1 }] }), 422, 'menu_not_in_store');
    await expectUnchanged(creator, order);
    expect(await balanceOf(app.db.sql, joiner.user.id)).toBe(50_000);
    await expectLedgerBalanced(app.db.sql);
  });

  it('refuses items on a split join, and a separate join without items', async () => {
    const creator = await signUp(app.server.baseUrl);
    const joiner = await signUp(app.server.baseUrl);
    const split = await openOrder(creator, splitBody());
    expectProblem(
      await join(joiner, split.order.id, split.etag, { items: [{ menu_id: store.menus.small, quantity: 1 }] }),
      422,
      'items_not_allowed',
    );
    await expectUnchanged(creator, split.order);

    const separate = await openOrder(creator, {
      store_id: store.id,
      split_type: 'separate',
      items: [{ menu_id: store.menus.big, quantity: 1 }],
      delivery: deliveryAt(uniqueSpot()),
    });
    expectProblem(await join(joiner, separate.order.id, separate.etag), 422, 'items_required');
    expectProblem(await join(joiner, separate.order.id, separate.etag, {}), 422, 'items_required');
    await expectUnchanged(creator, separate.order);
    expect(await balanceOf(app.db.sql, joiner.user.id)).toBe(50_000);
    await expectLedgerBalanced(app.db.sql);
  });

  it('refuses an order without a delivery address when none is saved, and one from an empty cart', async () => {
    const user = await signUp(app.server.baseUrl);
    const { delivery: _, ...noDelivery } = splitBody();
    expectProblem(
      await user.client.POST('/orders', { params: { header: { 'Idempotency-Key': newKey() } }, body: noDelivery }),
      422,
      'delivery_address_missing',
    );
    const { items: __, ...noItems } = splitBody();
    expectProblem(
      await user.client.POST('/orders', { params: { header: { 'Idempotency-Key': newKey() } }, body: noItems }),
      422,
      'items_required',
    );
    expect(await balanceOf(app.db.sql, user.user.id)).toBe(50_000);
    expect(await app.db.sql`SELECT 1 FROM orders WHERE creator_id = ${user.user.id}`).toHaveLength(0);
  });
});

describe('428 If-Match required', () => {
  it('refuses every action without If-Match', async () => {
    const creator = await signUp(app.server.baseUrl);
    const joiner = await signUp(app.server.baseUrl);
    const { order } = await openOrder(creator, splitBody());
    for (const [user, action] of [
      [joiner, 'join'],
      [creator, 'cancel'],
      [creator, 'expire'],
      [staff, 'accept'],
    ] as const) {
      const result = await rawRequest(app.server.baseUrl, 'POST', `/orders/${order.id}/${action}`, {
        token: user.token,
        headers: { 'Idempotency-Key': newKey() },
      });
      expect({ action, status: result.status, code: result.body?.code }).toEqual({ action, status: 428, code: 'precondition_required' });
    }
    await expectUnchanged(creator, order);
    expect(await balanceOf(app.db.sql, joiner.user.id)).toBe(50_000);
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('413 and 415', () => {
  it('refuses a body that is not JSON, and one that is too large', async () => {
    const user = await signUp(app.server.baseUrl);
    const notJson = await rawRequest(app.server.baseUrl, 'POST', '/orders', {
      token: user.token,
      headers: { 'Idempotency-Key': newKey(), 'Content-Type': 'text/plain' },
      body: JSON.stringify(splitBody()),
    });
    expect(notJson.status).toBe(415);
    expect(notJson.body).toMatchObject({ code: 'unsupported_media_type' });
    const tooLarge = await rawRequest(app.server.baseUrl, 'POST', '/orders', {
      token: user.token,
      headers: { 'Idempotency-Key': newKey() },
      body: JSON.stringify({ ...splitBody(), delivery: { address: 'x'.repeat(70 * 1024), lat: 0, lon: 0 } }),
    });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body).toMatchObject({ code: 'payload_too_large' });
    expect(await balanceOf(app.db.sql, user.user.id)).toBe(50_000);
  });
});
