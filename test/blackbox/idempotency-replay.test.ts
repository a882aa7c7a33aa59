/**
 * A sequential retry with the same Idempotency-Key gets the stored answer (same status,
 * byte-identical body, same ETag/Location, `Idempotent-Replayed: true`) and moves no money twice.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Schemas } from '../../openapi/client.js';
import {
  actor,
  staffActor,
  demoStore,
  expectReplayOf,
  grantThen,
  keyRow,
  keysOf,
  ledgerOf,
  matchedOrder,
  orderRow,
  ordersOf,
  SIGNUP_GRANT,
  SPLIT_CREATOR_SHARE,
  SPLIT_JOINER_SHARE,
  splitOrderInput,
  type Actor,
  type DemoStore,
} from '../support/idempotency.js';
import { joinOrder, openOrder } from '../support/orders.js';
import { useServer } from '../support/use-server.js';
import { expectLedgerBalanced, newKey } from '../support/world.js';

const app = useServer();
let store: DemoStore;

beforeAll(async () => {
  store = await demoStore((await actor(app.server.baseUrl, 'Scout')).client);
});

/**
 * The first answer is checked against an independent read, GET /orders/{id} right after it, so a
 * replay equal to it is equal to the truth, not merely to something as wrong as itself.
 */
async function expectOrderAsNow(
  who: Actor,
  answer: { data?: Schemas['Order'] | Schemas['PublicOrder'] | Schemas['FulfilmentOrder']; response: Response },
) {
  const read = await who.client.GET('/orders/{orderId}', { params: { path: { orderId: answer.data!.id } } });
  expect(read.response.status).toBe(200);
  expect(answer.data).toEqual(read.data);
  expect(answer.response.headers.get('etag')).toBe(read.response.headers.get('etag'));
}

/** The creator's ledger after opening an order that was then called off: one charge, one refund. */
const chargedThenRefunded = (orderId: string) =>
  grantThen(
    { kind: 'order_charge', amount: -SPLIT_CREATOR_SHARE, order_id: orderId },
    { kind: 'order_refund', amount: SPLIT_CREATOR_SHARE, order_id: orderId },
  );

describe('sequential retry of each money-moving action', () => {
  it('POST /orders: the retry gets the same 201, body, ETag and Location, and the creator is charged once', async () => {
    const creator = await actor(app.server.baseUrl, 'Creator');
    const key = newKey();
    const send = () => creator.client.POST('/orders', { params: { header: { 'Idempotency-Key': key } }, body: splitOrderInput(store) });

    const first = await send();
    expect(first.response.status).toBe(201);
    expect(first.response.headers.get('location')).toBe(`/orders/${first.data!.id}`);
    expect(first.response.headers.get('etag')).toBe('"v1"');
    await expectOrderAsNow(creator, first);
    const again = await send();
    expectReplayOf(first, again);

    // Someone joins meanwhile: the replay is the stored 201 (pending, v1), not a fresh rendering.
    await joinOrder(await actor(app.server.baseUrl, 'Joiner'), first.data!.id, '"v1"');
    const third = await send();
    expectReplayOf(first, third);
    expect(third.data).toMatchObject({ status: 'pending', version: 1 });

    expect(await ordersOf(app.db.sql, creator.user.id)).toEqual([first.data!.id]);
    expect(await ledgerOf(app.db.sql, creator.user.id)).toEqual(
      grantThen({ kind: 'order_charge', amount: -SPLIT_CREATOR_SHARE, order_id: first.data!.id }),
    );
    expect((await keyRow(app.db.sql, creator.user.id, key))?.response_status).toBe(201);
    await expectLedgerBalanced(app.db.sql);
  });

  it('POST /orders/{id}/join: the retry replays the match even after the order moved on, and the joiner is charged once', async () => {
    const creator = await actor(app.server.baseUrl, 'Creator');
    const joiner = await actor(app.server.baseUrl, 'Joiner');
    const { order, etag } = await openOrder(creator, splitOrderInput(store));
    const key = newKey();
    const send = () =>
      joiner.client.POST('/orders/{orderId}/join', {
        params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': key } },
        body: {},
      });

    const first = await send();
    expect(first.response.status).toBe(200);
    expect(first.data!.status).toBe('matched');
    expect(first.response.headers.get('etag')).toBe('"v2"');
    await expectOrderAsNow(joiner, first);
    const again = await send();
    expectReplayOf(first, again);

    // The store accepts the order meanwhile: the replay is the stored answer, not a fresh rendering.
    const staff = await staffActor(app.server.baseUrl, 'Cook', store.storeId);
    const accepted = await staff.client.POST('/orders/{orderId}/accept', {
      params: { path: { orderId: order.id }, header: { 'If-Match': '"v2"' } },
    });
    expect(accepted.data!.status).toBe('accepted');
    const late = await send();
    expectReplayOf(first, late);
    expect(late.data!.status).toBe('matched');

    expect(await ledgerOf(app.db.sql, joiner.user.id)).toEqual(
      grantThen({ kind: 'order_charge', amount: -SPLIT_JOINER_SHARE, order_id: order.id }),
    );
    expect(await orderRow(app.db.sql, order.id)).toMatchObject({ status: 'accepted', version: 3, joiner_id: joiner.user.id });
    await expectLedgerBalanced(app.db.sql);
  });

  it('POST /orders/{id}/cancel: the retry replays the cancellation and the creator is refunded once', async () => {
    const creator = await actor(app.server.baseUrl, 'Creator');
    const { order, etag } = await openOrder(creator, splitOrderInput(store));
    const key = newKey();
    const send = () =>
      creator.client.POST('/orders/{orderId}/cancel', {
        params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': key } },
      });

    const first = await send();
    expect(first.response.status).toBe(200);
    expect(first.data!.status).toBe('cancelled');
    await expectOrderAsNow(creator, first);
    const again = await send();
    expectReplayOf(first, again);

    expect(await ledgerOf(app.db.sql, creator.user.id)).toEqual(chargedThenRefunded(order.id));
    expect(await orderRow(app.db.sql, order.id)).toMatchObject({ status: 'cancelled', version: 2 });
    await expectLedgerBalanced(app.db.sql);
  });

  it('POST /users/me/credit/top-ups: the retry replays the 201 and the wallet is credited once', async () => {
    const user = await actor(app.server.baseUrl, 'Saver');
    const key = newKey();
    const send = () =>
      user.client.POST('/users/me/credit/top-ups', { params: { header: { 'Idempotency-Key': key } }, body: { amount: 12_345 } });

    const first = await send();
    expect(first.response.status).toBe(201);
    expect(first.data!.credit).toBe(SIGNUP_GRANT + 12_345);
    // The entry is the one the ledger holds (an independent read), not just a well-formed object.
    const ledger = await user.client.GET('/users/me/ledger');
    expect(ledger.data!.items.find((entry) => entry.kind === 'top_up')).toEqual(first.data!.entry);

    // Another top-up (its own key) meanwhile: the replay is the stored 201, not today's balance.
    const other = await user.client.POST('/users/me/credit/top-ups', {
      params: { header: { 'Idempotency-Key': newKey() } },
      body: { amount: 100 },
    });
    expect(other.data!.credit).toBe(SIGNUP_GRANT + 12_345 + 100);
    const again = await send();
    expectReplayOf(first, again);
    expect(again.data!.credit).toBe(SIGNUP_GRANT + 12_345);

    expect(await ledgerOf(app.db.sql, user.user.id)).toEqual(
      grantThen({ kind: 'top_up', amount: 12_345, order_id: null }, { kind: 'top_up', amount: 100, order_id: null }),
    );
    const me = await user.client.GET('/users/me');
    expect(me.data!.credit).toBe(SIGNUP_GRANT + 12_345 + 100);
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('actions that take a key optionally (expire, accept)', () => {
  it('POST /orders/{id}/expire with a key: the retry replays and the creator is refunded once', async () => {
    const creator = await actor(app.server.baseUrl, 'Creator');
    const sweeper = await actor(app.server.baseUrl, 'Neighbour');
    const { order, etag } = await openOrder(creator, splitOrderInput(store));
    // Time passing is not something the API can do: the order is made overdue in the database.
    await app.db.sql`UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = ${order.id}`;
    const key = newKey();
    const send = () =>
      sweeper.client.POST('/orders/{orderId}/expire', {
        params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': key } },
      });

    const first = await send();
    expect(first.response.status).toBe(200);
    expect(first.data!.status).toBe('expired');
    // A neighbour who expires the order gets what they may see of it: the public view, as their own GET shows it.
    expect(first.data!.view).toBe('public');
    await expectOrderAsNow(sweeper, first);
    const again = await send();
    expectReplayOf(first, again);

    expect(await ledgerOf(app.db.sql, creator.user.id)).toEqual(chargedThenRefunded(order.id));
    await expectLedgerBalanced(app.db.sql);
  });

  it('POST /orders/{id}/accept with a key: the retry replays; without a key a retry is simply a new request', async () => {
    const creator = await actor(app.server.baseUrl, 'Creator');
    const joiner = await actor(app.server.baseUrl, 'Joiner');
    const staff = await staffActor(app.server.baseUrl, 'Cook', store.storeId);
    const { order, etag } = await matchedOrder(creator, joiner, store);
    const key = newKey();
    const send = () =>
      staff.client.POST('/orders/{orderId}/accept', {
        params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': key } },
      });

    const first = await send();
    expect(first.response.status).toBe(200);
    expect(first.data!.status).toBe('accepted');
    expect(first.response.headers.get('etag')).toBe('"v3"');
    await expectOrderAsNow(staff, first);
    const again = await send();
    expectReplayOf(first, again);

    // No key: nothing is stored, so the same request runs again and meets the new version.
    const noKey = () =>
      staff.client.POST('/orders/{orderId}/accept', { params: { path: { orderId: order.id }, header: { 'If-Match': etag } } });
    const plain = await noKey();
    expect(plain.response.status).toBe(412);
    expect(plain.response.headers.get('idempotent-replayed')).toBeNull();
    expect(await orderRow(app.db.sql, order.id)).toMatchObject({ status: 'accepted', version: 3 });
    expect(await keysOf(app.db.sql, staff.user.id)).toHaveLength(1); // only the key of the first accept
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('keys are scoped per user', () => {
  it('two users sending the same key string get two independent executions', async () => {
    const ana = await actor(app.server.baseUrl, 'Ana');
    const bo = await actor(app.server.baseUrl, 'Bo');
    const key = `shared-key-${newKey()}`;

    const anaTopUp = await ana.client.POST('/users/me/credit/top-ups', {
      params: { header: { 'Idempotency-Key': key } },
      body: { amount: 1_000 },
    });
    // Bo's request differs: under Ana's key it would be a 422; under Bo's own it simply runs.
    const boTopUp = await bo.client.POST('/users/me/credit/top-ups', {
      params: { header: { 'Idempotency-Key': key } },
      body: { amount: 2_000 },
    });
    expect(anaTopUp.response.status).toBe(201);
    expect(boTopUp.response.status).toBe(201);
    expect(boTopUp.response.headers.get('idempotent-replayed')).toBeNull();
    expect(anaTopUp.data!.credit).toBe(SIGNUP_GRANT + 1_000);
    expect(boTopUp.data!.credit).toBe(SIGNUP_GRANT + 2_000);

    // The very same request under the same key string: still Carol's own execution, not Ana's answer.
    const carol = await actor(app.server.baseUrl, 'Carol');
    const carolTopUp = await carol.client.POST('/users/me/credit/top-ups', {
      params: { header: { 'Idempotency-Key': key } },
      body: { amount: 1_000 },
    });
    expect(carolTopUp.response.status).toBe(201);
    expect(carolTopUp.response.headers.get('idempotent-replayed')).toBeNull();
    expect(carolTopUp.data!.entry.id).not.toBe(anaTopUp.data!.entry.id);

    for (const [user, amount] of [
      [ana, 1_000],
      [bo, 2_000],
      [carol, 1_000],
    ] as const) {
      expect((await ledgerOf(app.db.sql, user.user.id)).filter((r) => r.kind === 'top_up')).toEqual([
        { kind: 'top_up', amount, order_id: null },
      ]);
    }
    // Each user's own retry replays their own answer.
    const anaAgain = await ana.client.POST('/users/me/credit/top-ups', {
      params: { header: { 'Idempotency-Key': key } },
      body: { amount: 1_000 },
    });
    expectReplayOf(anaTopUp, anaAgain);
    await expectLedgerBalanced(app.db.sql);
  });
});
