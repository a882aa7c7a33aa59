/**
 * The sweepers: overdue pending orders are expired with a full refund, matched orders the store
 * left unanswered past accept_by are rejected with both refunds — by runOnce() called directly on
 * the test database, by the HTTP action that shares its code path, and by several of them at once,
 * never twice. An order is made overdue by moving its expires_at (or accept_by) into the past: test setup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import * as expireOverdue from '../../src/jobs/expire-overdue.js';
import * as rejectUnanswered from '../../src/jobs/reject-unanswered.js';
import { balanceOf, deliveryAt, insertStore, joinOrder, openOrder, orderLedger, uniqueSpot, type TestStore } from '../support/orders.js';
import { eventually } from '../support/eventually.js';
import { startServer } from '../support/server.js';
import { useServer } from '../support/use-server.js';
import { expectLedgerBalanced, signUp, type TestUser } from '../support/world.js';

const app = useServer();
// Two connection pools: two sweeping instances, as far as PostgreSQL can tell.
let instanceA: DatabaseHandle;
let instanceB: DatabaseHandle;
// Creator pays ceil(7001/2) + ceil(1999/2) = 3501 + 1000 = 4501; the joiner 3500 + 999 = 4499.
let store: TestStore;
const CREATOR_SHARE = 4501;

beforeAll(async () => {
  const options = { url: app.db.url, poolMax: 4, lockWaitMs: 2000, statementTimeoutMs: 10_000, connectTimeoutS: 5 };
  instanceA = openDatabase(options);
  instanceB = openDatabase(options);
  store = await insertStore(app.db.sql, { minimum: 5000, tip: 1999, deliveryMinutes: 40, menus: { meal: 7001 } });
});
afterAll(async () => {
  await instanceA?.close();
  await instanceB?.close();
});

const open = (creator: TestUser) =>
  openOrder(creator, {
    store_id: store.id,
    split_type: 'split',
    items: [{ menu_id: store.menus.meal, quantity: 1 }],
    delivery: deliveryAt(uniqueSpot()),
  });

const makeOverdue = (orderIds: string[]) =>
  app.db.sql`UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = ANY(${orderIds}::uuid[])`;

const overduePending = async () =>
  (await app.db.sql`SELECT count(*)::int AS n FROM orders WHERE status = 'pending' AND expires_at <= now()`)[0].n as number;

async function refundsPerOrder(orderIds: string[]) {
  const rows = await app.db.sql<{ order_id: string; refunds: number }[]>`
    SELECT o.id AS order_id, count(l.id)::int AS refunds
    FROM orders o LEFT JOIN credit_ledger l ON l.order_id = o.id AND l.kind = 'order_refund'
    WHERE o.id = ANY(${orderIds}::uuid[]) GROUP BY o.id`;
  return Object.fromEntries(rows.map((r) => [r.order_id, r.refunds]));
}

describe('expiry', () => {
  it('lets anyone expire an overdue order over HTTP, refunding the creator in full', async () => {
    const creator = await signUp(app.server.baseUrl, 'Waiting');
    const passerby = await signUp(app.server.baseUrl, 'Passer-by');
    const { order, etag } = await open(creator);
    expect(await balanceOf(app.db.sql, creator.user.id)).toBe(50_000 - CREATOR_SHARE);
    await makeOverdue([order.id]);

    const { data, response } = await passerby.client.POST('/orders/{orderId}/expire', {
      params: { path: { orderId: order.id }, header: { 'If-Match': etag } },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe('"v2"');
    // The passer-by takes no part in the order: they get the public view, the creator sees the rest.
    expect(data).toMatchObject({ view: 'public', status: 'expired', version: 2 });
    expect(data!.expired_at).not.toBeNull();
    const asCreator = await creator.client.GET('/orders/{orderId}', { params: { path: { orderId: order.id } } });
    expect(asCreator.data).toMatchObject({
      view: 'participant',
      id: order.id,
      status: 'expired',
      version: 2,
      joiner_id: null,
      expired_at: data!.expired_at,
    });
    expect(await orderLedger(app.db.sql, order.id)).toEqual([
      { user_id: creator.user.id, kind: 'order_charge', amount: -CREATOR_SHARE },
      { user_id: creator.user.id, kind: 'order_refund', amount: CREATOR_SHARE },
    ]);
    expect(await balanceOf(app.db.sql, creator.user.id)).toBe(50_000);
    await expectLedgerBalanced(app.db.sql);
  });

  it('runOnce() expires and refunds overdue orders, leaves the others, and notifies the creator', async () => {
    const creator = await signUp(app.server.baseUrl, 'Sweepable');
    const due = await open(creator);
    const notDue = await open(creator);
    await makeOverdue([due.order.id]);
    const overdue = await overduePending();
    expect(overdue).toBeGreaterThanOrEqual(1);

    expect(await expireOverdue.runOnce(instanceA.db, 500)).toEqual({ expired: overdue });
    const expired = await creator.client.GET('/orders/{orderId}', { params: { path: { orderId: due.order.id } } });
    expect(expired.data).toMatchObject({ status: 'expired', version: 2 });
    const pending = await creator.client.GET('/orders/{orderId}', { params: { path: { orderId: notDue.order.id } } });
    expect(pending.data).toEqual(notDue.order);
    expect(await refundsPerOrder([due.order.id, notDue.order.id])).toEqual({ [due.order.id]: 1, [notDue.order.id]: 0 });
    expect(await balanceOf(app.db.sql, creator.user.id)).toBe(50_000 - CREATOR_SHARE);

    const notes = await creator.client.GET('/users/me/notifications', { params: { query: {} } });
    expect(notes.data!.items.map((n) => [n.kind, n.order_id])).toEqual([['order_expired', due.order.id]]);

    // Nothing left to do: a second run changes nothing.
    expect(await expireOverdue.runOnce(instanceA.db, 500)).toEqual({ expired: 0 });
    expect(await refundsPerOrder([due.order.id])).toEqual({ [due.order.id]: 1 });
    await expectLedgerBalanced(app.db.sql);
  });

  it('never refunds twice with two sweepers and the HTTP action racing on the same orders', async () => {
    const creators = await Promise.all(Array.from({ length: 3 }, (_, i) => signUp(app.server.baseUrl, `Creator ${i}`)));
    for (let round = 0; round < 3; round++) {
      const orders = [];
      for (let i = 0; i < 24; i++) orders.push(await open(creators[i % 3]));
      const ids = orders.map((o) => o.order.id);
      await makeOverdue(ids);
      const overdue = await overduePending();

      // Small batches so the two sweepers interleave; a few HTTP expiries join the race.
      const [a, b, ...http] = (await Promise.all([
        expireOverdue.runOnce(instanceA.db, 3),
        expireOverdue.runOnce(instanceB.db, 3),
        ...orders
          .slice(0, 6)
          .map(({ order, etag }) =>
            creators[0].client.POST('/orders/{orderId}/expire', { params: { path: { orderId: order.id }, header: { 'If-Match': etag } } }),
          ),
      ])) as [{ expired: number }, { expired: number }, ...{ response: Response }[]];
      const httpWins = http.filter((r) => r.response.status === 200).length;
      for (const r of http) expect([200, 409, 412]).toContain(r.response.status);
      expect(a.expired + b.expired + httpWins).toBe(overdue);

      const refunds = await refundsPerOrder(ids);
      expect(Object.values(refunds)).toEqual(ids.map(() => 1));
      const [{ n: pendingLeft }] = await app.db
        .sql`SELECT count(*)::int AS n FROM orders WHERE id = ANY(${ids}::uuid[]) AND status <> 'expired'`;
      expect(pendingLeft).toBe(0);
      const [{ n: notes }] = await app.db.sql`
        SELECT count(*)::int AS n FROM notifications WHERE order_id = ANY(${ids}::uuid[]) AND kind = 'order_expired'`;
      expect(notes).toBe(ids.length);
    }
    for (const creator of creators) expect(await balanceOf(app.db.sql, creator.user.id)).toBe(50_000);
    await expectLedgerBalanced(app.db.sql);
  });

  it("does not wait on another transaction's foreign-key check of a creator (a join notifying them)", async () => {
    const creators = await Promise.all(['Notified', 'Other'].map((name) => signUp(app.server.baseUrl, name)));
    const due = await Promise.all(creators.map((creator) => open(creator)));
    const stillOpen = await open(creators[0]);
    await makeOverdue(due.map((d) => d.order.id));
    const overdue = await overduePending();
    // Another transaction holds a notification for the first creator, uncommitted: its foreign-key
    // check holds a KEY SHARE lock on their users row until it ends.
    const held = await app.db.sql.reserve();
    try {
      await held`BEGIN`;
      await held`INSERT INTO notifications (user_id, order_id, kind, message)
                 VALUES (${creators[0].user.id}, ${stillOpen.order.id}, 'order_matched', 'held open by the test')`;
      // The sweep locks the creators it refunds; a lock that waited here would end in lock_timeout.
      expect(await expireOverdue.runOnce(instanceA.db, 500)).toEqual({ expired: overdue });
    } finally {
      await held`ROLLBACK`;
      held.release();
    }
    expect(await refundsPerOrder(due.map((d) => d.order.id))).toEqual(Object.fromEntries(due.map((d) => [d.order.id, 1])));
    for (const creator of creators)
      expect(await balanceOf(app.db.sql, creator.user.id)).toBe(50_000 - (creator === creators[0] ? CREATOR_SHARE : 0));
    await expectLedgerBalanced(app.db.sql);
  });

  it('expires overdue orders exactly once with two instances running the scheduled sweeper', async () => {
    const sweeping = await Promise.all([1, 2].map(() => startServer(app.db.url, { JOBS_ENABLED: 'true', SWEEP_INTERVAL_SECONDS: '1' })));
    try {
      const creator = await signUp(sweeping[0].baseUrl, 'Scheduled');
      const orders = [];
      for (let i = 0; i < 8; i++) orders.push(await open(creator));
      const ids = orders.map((o) => o.order.id);
      await makeOverdue(ids);
      // Wait (not a timed assertion: the deadline only bounds a hang) until the jobs have swept them.
      const deadline = Date.now() + 30_000;
      let left = ids.length;
      while (left > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        [{ n: left }] = await app.db.sql`SELECT count(*)::int AS n FROM orders WHERE id = ANY(${ids}::uuid[]) AND status = 'pending'`;
      }
      expect(left).toBe(0);
      expect(Object.values(await refundsPerOrder(ids))).toEqual(ids.map(() => 1));
      expect(await balanceOf(app.db.sql, creator.user.id)).toBe(50_000);
      await expectLedgerBalanced(app.db.sql);
    } finally {
      await Promise.all(sweeping.map((s) => s.stop()));
    }
  });
});

describe('the acceptance deadline', () => {
  it('runOnce() rejects matched orders the store left unanswered past accept_by, refunding both, and only those', async () => {
    const creator = await signUp(app.server.baseUrl, 'Hungry');
    const joiner = await signUp(app.server.baseUrl, 'Hungry Too');
    const unanswered = await open(creator);
    const inTime = await open(creator);
    const stillPending = await open(creator);
    await joinOrder(joiner, unanswered.order.id, unanswered.etag);
    const matched = await joinOrder(joiner, inTime.order.id, inTime.etag);
    // One matched order's deadline passed a second ago; the other's is a minute away.
    await app.db.sql`UPDATE orders SET accept_by = now() - interval '1 second' WHERE id = ${unanswered.order.id}`;
    await app.db.sql`UPDATE orders SET accept_by = now() + interval '1 minute' WHERE id = ${inTime.order.id}`;
    const [{ due }] = await app.db.sql`SELECT count(*)::int AS due FROM orders WHERE status = 'matched' AND accept_by <= now()`;
    expect(due).toBeGreaterThanOrEqual(1);

    // Two sweepers at once: each due order is rejected once.
    const [a, b] = await Promise.all([rejectUnanswered.runOnce(instanceA.db, 1), rejectUnanswered.runOnce(instanceB.db, 1)]);
    expect(a.rejected + b.rejected).toBe(due);

    const got = async (orderId: string) => (await creator.client.GET('/orders/{orderId}', { params: { path: { orderId } } })).data!;
    expect(await got(unanswered.order.id)).toMatchObject({ status: 'rejected', version: 3 });
    expect((await got(unanswered.order.id)).rejected_at).not.toBeNull();
    expect(await got(inTime.order.id)).toMatchObject({ status: 'matched', version: matched.order.version });
    expect(await got(stillPending.order.id)).toMatchObject({ status: 'pending', version: 1 });

    const [{ n: notes }] = await app.db.sql`
      SELECT count(*)::int AS n FROM notifications WHERE order_id = ${unanswered.order.id} AND kind = 'order_rejected'`;
    expect(notes).toBe(2);
    // Both refunded exactly what they paid: each wallet as before the order.
    expect((await orderLedger(app.db.sql, unanswered.order.id)).map((r) => [r.user_id, r.kind, r.amount])).toEqual([
      [creator.user.id, 'order_charge', -CREATOR_SHARE],
      [joiner.user.id, 'order_charge', -4499],
      [creator.user.id, 'order_refund', CREATOR_SHARE],
      [joiner.user.id, 'order_refund', 4499],
    ]);
    expect(await rejectUnanswered.runOnce(instanceA.db, 500)).toEqual({ rejected: 0 });
    await expectLedgerBalanced(app.db.sql);
  });

  it('runs on the schedule: an unanswered order is rejected by the running service', async () => {
    const creator = await signUp(app.server.baseUrl, 'Scheduled');
    const joiner = await signUp(app.server.baseUrl, 'Scheduled Too');
    const opened = await open(creator);
    await joinOrder(joiner, opened.order.id, opened.etag);
    await app.db.sql`UPDATE orders SET accept_by = now() - interval '1 second' WHERE id = ${opened.order.id}`;
    const sweeping = await startServer(app.db.url, { JOBS_ENABLED: 'true', SWEEP_INTERVAL_SECONDS: '1' });
    try {
      await eventually(
        async () => (await app.db.sql`SELECT status FROM orders WHERE id = ${opened.order.id}`)[0].status === 'rejected',
        () => 'the service never rejected the unanswered order',
      );
    } finally {
      await sweeping.stop();
    }
    expect(await balanceOf(app.db.sql, creator.user.id)).toBe(50_000);
    expect(await balanceOf(app.db.sql, joiner.user.id)).toBe(50_000);
  });
});
