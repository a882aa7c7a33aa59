/**
 * The quotas, against the real service on its defaults: at most MAX_OPEN_ORDERS open orders per
 * user (409 too_many_open_orders), the delivery point within the store's delivery radius (422
 * outside_delivery_area), and the wallet's balance cap on top-ups (422 balance_limit_exceeded).
 * Each at its boundary, each refusal changing nothing and replayed under its Idempotency-Key, each
 * raced (two instances on one database), and each configurable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoOrderClient, type Schemas } from '../../openapi/client.js';
import {
  STORE_POINT,
  balanceOf,
  deliveryAt,
  distanceM,
  insertStore,
  offset,
  openOrder,
  type Point,
  type TestStore,
} from '../support/orders.js';
import { expectProblem, sdkAnswer, snapshot } from '../support/problems.js';
import { startServer, type RunningServer } from '../support/server.js';
import { useServer, type ServerEnv } from '../support/use-server.js';
import { expectLedgerBalanced, newKey, signUp, type TestUser } from '../support/world.js';

// The test servers run with the quotas raised (test/support/server.ts): here, the service's own.
const DEFAULT_QUOTAS: ServerEnv = { MAX_OPEN_ORDERS: undefined, DELIVERY_RADIUS_M: undefined, WALLET_BALANCE_CAP_KRW: undefined };
const MAX_OPEN = 3;
const RADIUS_M = 3000;
const CAP_KRW = 2_000_000;
const GRANT_KRW = 50_000;

const app = useServer(DEFAULT_QUOTAS);
let second: RunningServer;
// Menu 2001 and tip 1001: the creator of a split order pays 1001 + 501 = 1502.
let store: TestStore;
let nearStore: TestStore;
let farStore: TestStore;
const SHARE = 1502;

beforeAll(async () => {
  // A second instance on the same database, as behind a load balancer.
  second = await startServer(app.db.url, DEFAULT_QUOTAS);
  const spec = { minimum: 2000, tip: 1001, menus: { meal: 2001 } };
  store = await insertStore(app.db.sql, spec);
  nearStore = await insertStore(app.db.sql, { ...spec, deliveryRadiusM: 500 });
  farStore = await insertStore(app.db.sql, { ...spec, deliveryRadiusM: 5000 });
});
afterAll(async () => {
  await second?.stop();
});

const onSecond = (user: TestUser): TestUser => ({ ...user, client: createCoOrderClient(second.baseUrl, user.token) });

const orderBody = (at: Point = offset(STORE_POINT, 100, 45), s: TestStore = store) => ({
  store_id: s.id,
  split_type: 'split' as const,
  items: [{ menu_id: s.menus.meal, quantity: 1 }],
  delivery: deliveryAt(at),
});

const create = (user: TestUser, body: Schemas['CreateOrderInput'] = orderBody(), key = newKey()) =>
  user.client.POST('/orders', { params: { header: { 'Idempotency-Key': key } }, body });

const topUp = (user: TestUser, amount: number, key = newKey()) =>
  user.client.POST('/users/me/credit/top-ups', { params: { header: { 'Idempotency-Key': key } }, body: { amount } });

const openCount = async (userId: string) => {
  const [{ n }] = await app.db.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM orders WHERE creator_id = ${userId} AND status = 'pending' AND expires_at > now()`;
  return n;
};

describe('at most 3 open orders per user', () => {
  it('opens the third, refuses the fourth with 409 too_many_open_orders, changing nothing', async () => {
    const user = await signUp(app.server.baseUrl, 'Hoarder');
    for (let i = 0; i < MAX_OPEN; i++) await openOrder(user, orderBody());
    const before = await snapshot(app.db.sql);
    const refused = await create(user);
    const problem = expectProblem(sdkAnswer(refused), 409, 'too_many_open_orders', '/orders');
    expect(problem.detail).toContain(`${MAX_OPEN} open orders`);
    // A deterministic refusal: stored under its key (one row more), nothing else.
    expect(await snapshot(app.db.sql)).toEqual({ ...before, idempotency_keys: (before.idempotency_keys as number) + 1 });
    expect(await balanceOf(app.db.sql, user.user.id)).toBe(GRANT_KRW - MAX_OPEN * SHARE);
    await expectLedgerBalanced(app.db.sql);
  });

  it('counts only open orders: a cancelled one, or one past expires_at, frees a place', async () => {
    const user = await signUp(app.server.baseUrl, 'Regular');
    const opened = [];
    for (let i = 0; i < MAX_OPEN; i++) opened.push(await openOrder(user, orderBody()));
    expectProblem(sdkAnswer(await create(user)), 409, 'too_many_open_orders');

    const cancelled = await user.client.POST('/orders/{orderId}/cancel', {
      params: { path: { orderId: opened[0].order.id }, header: { 'If-Match': opened[0].etag, 'Idempotency-Key': newKey() } },
    });
    expect(cancelled.response.status).toBe(200);
    await openOrder(user, orderBody());
    expectProblem(sdkAnswer(await create(user)), 409, 'too_many_open_orders');

    // Expired in effect (past expires_at, not yet swept: the jobs are off here) is not open.
    await app.db.sql`UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = ${opened[1].order.id}`;
    await openOrder(user, orderBody());
    expect(await openCount(user.user.id)).toBe(MAX_OPEN);
    await expectLedgerBalanced(app.db.sql);
  });

  it('does not count orders the user joined', async () => {
    const creators = await Promise.all([1, 2, 3, 4].map((i) => signUp(app.server.baseUrl, `Neighbour ${i}`)));
    const joiner = await signUp(app.server.baseUrl, 'Joiner');
    for (const creator of creators) {
      const { order, etag } = await openOrder(creator, orderBody());
      const joined = await joiner.client.POST('/orders/{orderId}/join', {
        params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
      });
      expect(joined.response.status).toBe(200);
    }
    for (let i = 0; i < MAX_OPEN; i++) await openOrder(joiner, orderBody());
    await expectLedgerBalanced(app.db.sql);
  });

  it('replays a stored refusal under its key, even once the user has room again', async () => {
    const user = await signUp(app.server.baseUrl, 'Retrier');
    const opened = [];
    for (let i = 0; i < MAX_OPEN; i++) opened.push(await openOrder(user, orderBody()));
    const key = newKey();
    const body = orderBody();
    const first = await create(user, body, key);
    const problem = expectProblem(sdkAnswer(first), 409, 'too_many_open_orders');

    await user.client.POST('/orders/{orderId}/cancel', {
      params: { path: { orderId: opened[0].order.id }, header: { 'If-Match': opened[0].etag, 'Idempotency-Key': newKey() } },
    });
    const before = await snapshot(app.db.sql);
    // On the other instance too: the answer is the database's, not an instance's.
    const replayed = await create(onSecond(user), body, key);
    expect(replayed.response.status).toBe(409);
    expect(replayed.response.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.error).toEqual(problem);
    expect(await snapshot(app.db.sql)).toEqual(before);
    // A new key is a new request: now there is room.
    await openOrder(user, body);
    await expectLedgerBalanced(app.db.sql);
  });

  it('10 concurrent creates by a user with 2 open orders, across two instances: exactly one succeeds', async () => {
    for (let round = 0; round < 5; round++) {
      const user = await signUp(app.server.baseUrl, `Racer ${round}`);
      for (let i = 0; i < MAX_OPEN - 1; i++) await openOrder(user, orderBody());
      const both = [user, onSecond(user)];
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => create(both[i % 2])));
      const statuses = answers.map((a) => a.response.status).sort();
      expect(statuses, JSON.stringify(answers.map((a) => a.error ?? a.data?.id))).toEqual([201, ...Array(9).fill(409)]);
      for (const refused of answers.filter((a) => a.response.status === 409)) {
        expectProblem(sdkAnswer(refused), 409, 'too_many_open_orders');
      }
      expect(await openCount(user.user.id)).toBe(MAX_OPEN);
      expect(await balanceOf(app.db.sql, user.user.id)).toBe(GRANT_KRW - MAX_OPEN * SHARE);
    }
    await expectLedgerBalanced(app.db.sql);
  });
});

describe("the delivery point within the store's delivery radius", () => {
  it(`delivers up to ${RADIUS_M} m from a store that sets no radius, refuses farther with 422 outside_delivery_area`, async () => {
    const user = await signUp(app.server.baseUrl, 'Far Away');
    const justIn = offset(STORE_POINT, RADIUS_M - 0.5, 30);
    const justOut = offset(STORE_POINT, RADIUS_M + 0.5, 30);
    expect(distanceM(STORE_POINT, justOut)).toBeGreaterThan(RADIUS_M);
    await openOrder(user, orderBody(justIn));

    const before = await snapshot(app.db.sql);
    const refused = await create(user, orderBody(justOut));
    const problem = expectProblem(sdkAnswer(refused), 422, 'outside_delivery_area', '/orders');
    expect(problem.detail).toBe(`The delivery point is ${RADIUS_M + 1} m from the store, which delivers within ${RADIUS_M} m.`);
    expect(await snapshot(app.db.sql)).toEqual({ ...before, idempotency_keys: (before.idempotency_keys as number) + 1 });
    // Across the antimeridian and at the pole: far is far.
    expectProblem(sdkAnswer(await create(user, orderBody({ lat: 90, lon: 180 }))), 422, 'outside_delivery_area');
    await expectLedgerBalanced(app.db.sql);
  });

  it('holds a store to its own radius, nearer or farther than the default', async () => {
    const user = await signUp(app.server.baseUrl, 'Choosy');
    await openOrder(user, orderBody(offset(STORE_POINT, 499.5, 200), nearStore));
    expectProblem(sdkAnswer(await create(user, orderBody(offset(STORE_POINT, 500.5, 200), nearStore))), 422, 'outside_delivery_area');
    await openOrder(user, orderBody(offset(STORE_POINT, 4999.5, 300), farStore));
    expectProblem(sdkAnswer(await create(user, orderBody(offset(STORE_POINT, 5000.5, 300), farStore))), 422, 'outside_delivery_area');
    await expectLedgerBalanced(app.db.sql);
  });

  it('checks the saved address when the order gives none, and replays the refusal', async () => {
    const user = await signUp(app.server.baseUrl, 'Mover');
    const me = await user.client.GET('/users/me');
    const saved = await user.client.PUT('/users/me/address', {
      params: { header: { 'If-Match': me.response.headers.get('etag')! } },
      body: deliveryAt(offset(STORE_POINT, RADIUS_M + 50, 90)),
    });
    expect(saved.response.status).toBe(200);
    const { delivery: _, ...withoutDelivery } = orderBody();
    const key = newKey();
    const refused = await create(user, withoutDelivery, key);
    const problem = expectProblem(sdkAnswer(refused), 422, 'outside_delivery_area');
    const before = await snapshot(app.db.sql);
    const replayed = await create(user, withoutDelivery, key);
    expect(replayed.response.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.error).toEqual(problem);
    expect(await snapshot(app.db.sql)).toEqual(before);
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('the wallet balance cap', () => {
  it(`tops up to exactly ${CAP_KRW} KRW, refuses 1 KRW more with 422 balance_limit_exceeded, changing nothing`, async () => {
    const user = await signUp(app.server.baseUrl, 'Saver');
    expect((await topUp(user, 1_000_000)).data?.credit).toBe(GRANT_KRW + 1_000_000);
    expect((await topUp(user, CAP_KRW - GRANT_KRW - 1_000_000)).data?.credit).toBe(CAP_KRW);

    const before = await snapshot(app.db.sql);
    const key = newKey();
    const refused = await topUp(user, 1, key);
    const problem = expectProblem(sdkAnswer(refused), 422, 'balance_limit_exceeded', '/users/me/credit/top-ups');
    expect(problem.detail).toBe(`Your balance is ${CAP_KRW} KRW and may not pass ${CAP_KRW} KRW: top up at most 0 KRW.`);
    const stored = await snapshot(app.db.sql);
    expect(stored).toEqual({ ...before, idempotency_keys: (before.idempotency_keys as number) + 1 });

    // The replay, on the other instance, is the stored refusal.
    const replayed = await topUp(onSecond(user), 1, key);
    expect(replayed.response.status).toBe(422);
    expect(replayed.response.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.error).toEqual(problem);
    expect(await snapshot(app.db.sql)).toEqual(stored);
    await expectLedgerBalanced(app.db.sql);
  });

  it('never refuses a refund: a cancel may take the balance past the cap', async () => {
    const user = await signUp(app.server.baseUrl, 'Refunded');
    await topUp(user, 1_000_000);
    const { order, etag } = await openOrder(user, orderBody());
    expect((await topUp(user, CAP_KRW - (GRANT_KRW + 1_000_000 - SHARE))).data?.credit).toBe(CAP_KRW);
    const cancelled = await user.client.POST('/orders/{orderId}/cancel', {
      params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
    });
    expect(cancelled.response.status).toBe(200);
    expect(await balanceOf(app.db.sql, user.user.id)).toBe(CAP_KRW + SHARE);
    // Above the cap no top-up fits, and the detail says so.
    const refused = expectProblem(sdkAnswer(await topUp(user, 1)), 422, 'balance_limit_exceeded');
    expect(refused.detail).toContain('top up at most 0 KRW');
    await expectLedgerBalanced(app.db.sql);
  });

  it('concurrent top-ups near the cap, across two instances: the balance never passes it', async () => {
    for (let round = 0; round < 3; round++) {
      const user = await signUp(app.server.baseUrl, `Rusher ${round}`);
      await topUp(user, 1_000_000);
      // 1,050,000 KRW: four 200,000 KRW top-ups fit (1,850,000), a fifth would not (2,050,000).
      const both = [user, onSecond(user)];
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => topUp(both[i % 2], 200_000)));
      const statuses = answers.map((a) => a.response.status).sort();
      expect(statuses, JSON.stringify(answers.map((a) => a.error ?? a.data))).toEqual([...Array(4).fill(201), ...Array(6).fill(422)]);
      for (const refused of answers.filter((a) => a.response.status === 422)) {
        expectProblem(sdkAnswer(refused), 422, 'balance_limit_exceeded');
      }
      expect(await balanceOf(app.db.sql, user.user.id)).toBe(GRANT_KRW + 1_000_000 + 4 * 200_000);
    }
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('configurable', () => {
  let tight: RunningServer;
  beforeAll(async () => {
    tight = await startServer(app.db.url, { MAX_OPEN_ORDERS: '1', DELIVERY_RADIUS_M: '1000', WALLET_BALANCE_CAP_KRW: '100000' });
  });
  afterAll(async () => {
    await tight?.stop();
  });

  it('holds to the values a server is started with', async () => {
    const user = await signUp(tight.baseUrl, 'Tight');
    const point = offset(STORE_POINT, 1500, 10);
    expectProblem(sdkAnswer(await create(user, orderBody(point))), 422, 'outside_delivery_area');
    await openOrder(user, orderBody(offset(STORE_POINT, 999, 10)));
    expectProblem(sdkAnswer(await create(user)), 409, 'too_many_open_orders');
    expect((await topUp(user, 100_000 - GRANT_KRW + SHARE)).data?.credit).toBe(100_000);
    expectProblem(sdkAnswer(await topUp(user, 1)), 422, 'balance_limit_exceeded');

    // The same user on a server with the defaults: the defaults apply.
    const relaxed: TestUser = { ...user, client: createCoOrderClient(app.server.baseUrl, user.token) };
    await openOrder(relaxed, orderBody(point));
    expect((await topUp(relaxed, 1)).response.status).toBe(201);
    await expectLedgerBalanced(app.db.sql);
  });

  it('refuses a configuration out of range at start', async () => {
    await expect(startServer(app.db.url, { MAX_OPEN_ORDERS: '0' })).rejects.toThrow(/MAX_OPEN_ORDERS/);
  });
});
