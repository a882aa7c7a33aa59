/**
 * Races on one order, fired at the same moment with the same If-Match: exactly one action wins,
 * every loser gets 412 or 409, and the ledger shows only the winner's money movement.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoOrderClient } from '../../openapi/client.js';
import { balanceOf, deliveryAt, insertStore, openOrder, orderLedger, uniqueSpot, type TestStore } from '../support/orders.js';
import { startServer, type RunningServer } from '../support/server.js';
import { useDatabase } from '../support/use-server.js';
import { expectLedgerBalanced, newKey, signUp, type TestUser } from '../support/world.js';

const fresh = useDatabase();
let server: RunningServer;
let second: RunningServer;
// Menu 2001 and tip 1001: creator pays 1001 + 501 = 1502, joiner 1000 + 500 = 1500.
let store: TestStore;
const CREATOR_SHARE = 1502;
const JOINER_SHARE = 1500;

beforeAll(async () => {
  // Two instances on one database, as behind a load balancer: they must behave as one.
  [server, second] = await Promise.all([startServer(fresh.db.url), startServer(fresh.db.url)]);
  store = await insertStore(fresh.db.sql, { minimum: 2000, tip: 1001, menus: { meal: 2001 } });
});
afterAll(async () => {
  await Promise.all([server?.stop(), second?.stop()]);
});

const openCheap = (creator: TestUser) =>
  openOrder(creator, {
    store_id: store.id,
    split_type: 'split',
    items: [{ menu_id: store.menus.meal, quantity: 1 }],
    delivery: deliveryAt(uniqueSpot()),
  });

async function topUp(user: TestUser, amount: number) {
  const { response } = await user.client.POST('/users/me/credit/top-ups', {
    params: { header: { 'Idempotency-Key': newKey() } },
    body: { amount },
  });
  expect(response.status).toBe(201);
}

/** The same user on the other instance. */
const onSecond = (user: TestUser): TestUser => ({ ...user, client: createCoOrderClient(second.baseUrl, user.token) });

describe('join vs cancel at the same moment', () => {
  it('lets exactly one win, 50 rounds in a row, with exactly one charge or one refund', async () => {
    const creator = await signUp(server.baseUrl, 'Racing Creator');
    const joiner = onSecond(await signUp(server.baseUrl, 'Racing Joiner'));
    await topUp(creator, 100_000);
    await topUp(joiner, 100_000);
    const ROUNDS = 50;
    const wins = { join: 0, cancel: 0 };

    for (let round = 0; round < ROUNDS; round++) {
      const { order, etag } = await openCheap(creator);
      const [join, cancel] = await Promise.all([
        joiner.client.POST('/orders/{orderId}/join', {
          params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
        }),
        creator.client.POST('/orders/{orderId}/cancel', {
          params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
        }),
      ]);
      const statuses = { round, join: join.response.status, cancel: cancel.response.status };
      const joinWon = join.response.status === 200;
      const cancelWon = cancel.response.status === 200;
      expect(Number(joinWon) + Number(cancelWon), JSON.stringify(statuses)).toBe(1);
      const loser = joinWon ? cancel : join;
      expect([409, 412], JSON.stringify(statuses)).toContain(loser.response.status);

      const current = await creator.client.GET('/orders/{orderId}', { params: { path: { orderId: order.id } } });
      const ledger = await orderLedger(fresh.db.sql, order.id);
      if (joinWon) {
        wins.join++;
        expect(current.data).toEqual(join.data);
        expect(current.data).toMatchObject({ status: 'matched', version: 2, joiner_id: joiner.user.id });
        expect(ledger).toEqual([
          { user_id: creator.user.id, kind: 'order_charge', amount: -CREATOR_SHARE },
          { user_id: joiner.user.id, kind: 'order_charge', amount: -JOINER_SHARE },
        ]);
      } else {
        wins.cancel++;
        expect(current.data).toEqual(cancel.data);
        expect(current.data).toMatchObject({ status: 'cancelled', version: 2, joiner_id: null });
        expect(ledger).toEqual([
          { user_id: creator.user.id, kind: 'order_charge', amount: -CREATOR_SHARE },
          { user_id: creator.user.id, kind: 'order_refund', amount: CREATOR_SHARE },
        ]);
      }
      if (loser.response.status === 412) {
        expect(loser.response.headers.get('etag')).toBe('"v2"');
        // The order as the loser may see it, as their own GET shows it: a would-be joiner beaten by
        // the cancel takes no part in it (the public view), the creator beaten by the join does.
        const seen = joinWon ? current : await joiner.client.GET('/orders/{orderId}', { params: { path: { orderId: order.id } } });
        expect(seen.data).toMatchObject({
          view: joinWon ? 'participant' : 'public',
          id: order.id,
          status: current.data!.status,
          version: 2,
        });
        expect((loser.error as { current?: unknown }).current).toEqual(seen.data);
      }
    }

    expect(wins.join + wins.cancel).toBe(ROUNDS);
    expect(await balanceOf(fresh.db.sql, creator.user.id)).toBe(150_000 - wins.join * CREATOR_SHARE);
    expect(await balanceOf(fresh.db.sql, joiner.user.id)).toBe(150_000 - wins.join * JOINER_SHARE);
    const [{ charges }] = await fresh.db.sql`
      SELECT count(*)::int AS charges FROM credit_ledger WHERE user_id = ${joiner.user.id} AND kind = 'order_charge'`;
    expect(charges).toBe(wins.join);
    await expectLedgerBalanced(fresh.db.sql);
  });
});

describe('ten neighbours joining the same order at once', () => {
  it('matches exactly one of them and charges only the winner, across two instances', async () => {
    const creator = await signUp(server.baseUrl, 'Popular');
    await topUp(creator, 20_000);
    for (let round = 0; round < 5; round++) {
      const joiners = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const user = await signUp(server.baseUrl, `Neighbour ${i}`);
          return i % 2 ? onSecond(user) : user;
        }),
      );
      const { order, etag } = await openCheap(creator);
      const results = await Promise.all(
        joiners.map((joiner) =>
          joiner.client.POST('/orders/{orderId}/join', {
            params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
          }),
        ),
      );
      const statuses = results.map((r) => r.response.status);
      expect(
        statuses.filter((s) => s === 200),
        JSON.stringify(statuses),
      ).toHaveLength(1);
      expect(
        statuses.filter((s) => s === 412 || s === 409),
        JSON.stringify(statuses),
      ).toHaveLength(9);

      const winner = joiners[statuses.indexOf(200)];
      const current = await creator.client.GET('/orders/{orderId}', { params: { path: { orderId: order.id } } });
      expect(current.data).toMatchObject({ status: 'matched', version: 2, joiner_id: winner.user.id });
      expect(await orderLedger(fresh.db.sql, order.id)).toEqual([
        { user_id: creator.user.id, kind: 'order_charge', amount: -CREATOR_SHARE },
        { user_id: winner.user.id, kind: 'order_charge', amount: -JOINER_SHARE },
      ]);
      for (const joiner of joiners) {
        expect(await balanceOf(fresh.db.sql, joiner.user.id)).toBe(joiner === winner ? 50_000 - JOINER_SHARE : 50_000);
      }
      // Only the winner (and the creator) were told about the match.
      const [{ notified }] = await fresh.db.sql`
        SELECT array_agg(user_id::text ORDER BY user_id) AS notified FROM notifications WHERE order_id = ${order.id}`;
      expect(notified).toEqual([creator.user.id, winner.user.id].sort());
    }
    await expectLedgerBalanced(fresh.db.sql);
  });
});
