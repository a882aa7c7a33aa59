/**
 * What an Idempotency-Key must look like, when it is required, and what it binds: a reuse with a
 * different request is 422 and runs nothing; deterministic refusals (402, 409, 412) are stored and
 * replayed as they were.
 */
import { connect } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  actor,
  staffActor,
  cancelOrder,
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
  SPLIT_JOINER_SHARE,
  splitOrderInput,
  type DemoStore,
} from '../support/idempotency.js';
import { openOrder } from '../support/orders.js';
import { expectProblem, sdkAnswer } from '../support/problems.js';
import { useServer } from '../support/use-server.js';
import { expectLedgerBalanced, JEONJU, newKey } from '../support/world.js';

const app = useServer();
let store: DemoStore;

beforeAll(async () => {
  store = await demoStore((await actor(app.server.baseUrl, 'Scout')).client);
});

/** Sends raw bytes over HTTP/1.1 and returns everything the server answers. */
function rawExchange(baseUrl: string, request: Buffer): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
    socket.end(request);
  });
}

/** A header value the type system insists on, left out on purpose. */
const absent = undefined as unknown as string;

describe('the Idempotency-Key header itself', () => {
  it('is required on POST /orders, join, cancel and top-ups: 400 without it, and nothing happens', async () => {
    const creator = await actor(app.server.baseUrl, 'Creator');
    const joiner = await actor(app.server.baseUrl, 'Joiner');
    const { order, etag } = await openOrder(creator, splitOrderInput(store));
    const ledgersBefore = [await ledgerOf(app.db.sql, creator.user.id), await ledgerOf(app.db.sql, joiner.user.id)];

    const answers = [
      await creator.client.POST('/orders', { params: { header: { 'Idempotency-Key': absent } }, body: splitOrderInput(store) }),
      await joiner.client.POST('/orders/{orderId}/join', {
        params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': absent } },
      }),
      await creator.client.POST('/orders/{orderId}/cancel', {
        params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': absent } },
      }),
      await creator.client.POST('/users/me/credit/top-ups', { params: { header: { 'Idempotency-Key': absent } }, body: { amount: 5_000 } }),
    ];
    for (const answer of answers) expectProblem(sdkAnswer(answer), 400, 'idempotency_key_missing');

    expect(await orderRow(app.db.sql, order.id)).toMatchObject({ status: 'pending', version: 1, joiner_id: null });
    expect(await ordersOf(app.db.sql, creator.user.id)).toHaveLength(1);
    expect([await ledgerOf(app.db.sql, creator.user.id), await ledgerOf(app.db.sql, joiner.user.id)]).toEqual(ledgersBefore);
    await expectLedgerBalanced(app.db.sql);
  });

  const invalidKeys: [string, string][] = [
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['a Latin-1 letter', 'caf\u00e9'],
    // The UTF-8 bytes of '멱등키' on the wire (fetch sends a header string's characters as bytes).
    ['UTF-8 Hangul', Buffer.from('멱등키', 'utf8').toString('latin1')],
    ['a tab inside', 'a\tb'],
  ];

  it.each(invalidKeys)('is refused with 400 when it is %s, and nothing happens', async (_, key) => {
    const user = await actor(app.server.baseUrl, 'Picky');
    const topUp = await user.client.POST('/users/me/credit/top-ups', {
      params: { header: { 'Idempotency-Key': key } },
      body: { amount: 5_000 },
    });
    expectProblem(sdkAnswer(topUp), 400, 'validation_failed');
    expect(topUp.error!.errors).toEqual([expect.objectContaining({ path: 'header.Idempotency-Key' })]);

    const create = await user.client.POST('/orders', { params: { header: { 'Idempotency-Key': key } }, body: splitOrderInput(store) });
    expectProblem(sdkAnswer(create), 400, 'validation_failed');

    expect(await ledgerOf(app.db.sql, user.user.id)).toEqual(grantThen());
    expect(await ordersOf(app.db.sql, user.user.id)).toHaveLength(0);
    expect(await keysOf(app.db.sql, user.user.id)).toHaveLength(0);
    await expectLedgerBalanced(app.db.sql);
  });

  it('is refused with 400 when it carries other control characters, and nothing happens', async () => {
    const user = await actor(app.server.baseUrl, 'Raw');
    const body = JSON.stringify({ amount: 5_000 });
    // fetch refuses to send these bytes at all, so the request is written on a plain socket.
    for (const key of ['a\u007fb', 'a\u0001b', 'a\u001bb']) {
      const head = [
        'POST /users/me/credit/top-ups HTTP/1.1',
        `Host: ${new URL(app.server.baseUrl).host}`,
        `Authorization: Bearer ${user.token}`,
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(body)}`,
        `Idempotency-Key: ${key}`,
        'Connection: close',
      ].join('\r\n');
      const answer = await rawExchange(app.server.baseUrl, Buffer.from(`${head}\r\n\r\n${body}`, 'latin1'));
      expect(answer.split('\r\n')[0]).toMatch(/^HTTP\/1\.1 400 /);
    }
    expect(await ledgerOf(app.db.sql, user.user.id)).toEqual(grantThen());
    expect(await keysOf(app.db.sql, user.user.id)).toHaveLength(0);
    await expectLedgerBalanced(app.db.sql);
  });

  it('accepts 255 printable ASCII characters (spaces and symbols included) and replays under them', async () => {
    const user = await actor(app.server.baseUrl, 'Long');
    const printable = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).join('');
    const key = `a ${printable}`.padEnd(255, 'z');
    expect(key).toHaveLength(255);
    const send = () =>
      user.client.POST('/users/me/credit/top-ups', { params: { header: { 'Idempotency-Key': key } }, body: { amount: 700 } });
    const first = await send();
    const again = await send();
    expect(first.response.status).toBe(201);
    expectReplayOf(first, again);
    expect(await keyRow(app.db.sql, user.user.id, key)).toBeDefined();
    expect((await ledgerOf(app.db.sql, user.user.id)).filter((r) => r.kind === 'top_up')).toHaveLength(1);
    await expectLedgerBalanced(app.db.sql);
  });

  it('is optional on accept and expire, but when sent it is validated the same way', async () => {
    const creator = await actor(app.server.baseUrl, 'Creator');
    const joiner = await actor(app.server.baseUrl, 'Joiner');
    const staff = await staffActor(app.server.baseUrl, 'Cook', store.storeId);
    const { order, etag } = await matchedOrder(creator, joiner, store);

    const badAccept = await staff.client.POST('/orders/{orderId}/accept', {
      params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': 'x'.repeat(256) } },
    });
    expectProblem(sdkAnswer(badAccept), 400, 'validation_failed');
    expect(await orderRow(app.db.sql, order.id)).toMatchObject({ status: 'matched', version: 2 });

    const other = await openOrder(creator, splitOrderInput(store));
    await app.db.sql`UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = ${other.order.id}`;
    const badExpire = await joiner.client.POST('/orders/{orderId}/expire', {
      params: { path: { orderId: other.order.id }, header: { 'If-Match': other.etag, 'Idempotency-Key': '' } },
    });
    expectProblem(sdkAnswer(badExpire), 400, 'validation_failed');
    expect(await orderRow(app.db.sql, other.order.id)).toMatchObject({ status: 'pending', version: 1 });

    // Without a key both simply run.
    const accepted = await staff.client.POST('/orders/{orderId}/accept', {
      params: { path: { orderId: order.id }, header: { 'If-Match': etag } },
    });
    expect(accepted.response.status).toBe(200);
    expect(accepted.response.headers.get('idempotent-replayed')).toBeNull();
    const expire = await joiner.client.POST('/orders/{orderId}/expire', {
      params: { path: { orderId: other.order.id }, header: { 'If-Match': other.etag } },
    });
    expect(expire.response.status).toBe(200);
    expect(expire.data!.status).toBe('expired');
    expect(await keysOf(app.db.sql, joiner.user.id)).toHaveLength(1); // the join's
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('a key is bound to its request (fingerprint)', () => {
  function expectReused(answer: { response: Response; error?: unknown }) {
    expectProblem(sdkAnswer(answer), 422, 'idempotency_key_reused');
    expect(answer.response.headers.get('idempotent-replayed')).toBeNull();
  }

  it('a changed body is 422 and creates nothing; the same body with its keys in another order replays', async () => {
    const creator = await actor(app.server.baseUrl, 'Creator');
    const key = newKey();
    const input = splitOrderInput(store);
    const first = await creator.client.POST('/orders', { params: { header: { 'Idempotency-Key': key } }, body: input });
    expect(first.response.status).toBe(201);

    const changed = await creator.client.POST('/orders', {
      params: { header: { 'Idempotency-Key': key } },
      body: { ...input, items: [{ menu_id: store.menuId, quantity: 2 }] },
    });
    expectReused(changed);
    const otherSplit = await creator.client.POST('/orders', {
      params: { header: { 'Idempotency-Key': key } },
      body: { ...input, split_type: 'separate' },
    });
    expectReused(otherSplit);

    // Same members, every object's keys in reverse order (the SDK sends them as built).
    const reordered = {
      delivery: { lon: JEONJU.lon, lat: JEONJU.lat, address: input.delivery!.address },
      items: [{ quantity: 1, menu_id: store.menuId }],
      split_type: 'split' as const,
      store_id: store.storeId,
    };
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(input));
    const replay = await creator.client.POST('/orders', { params: { header: { 'Idempotency-Key': key } }, body: reordered });
    expectReplayOf(first, replay);

    expect(await ordersOf(app.db.sql, creator.user.id)).toHaveLength(1);
    expect((await ledgerOf(app.db.sql, creator.user.id)).filter((r) => r.kind === 'order_charge')).toHaveLength(1);
    await expectLedgerBalanced(app.db.sql);
  });

  it('a changed If-Match is 422 and does not run the action', async () => {
    const creator = await actor(app.server.baseUrl, 'Creator');
    const { order, etag } = await openOrder(creator, splitOrderInput(store));
    const key = newKey();
    // First use: a stale If-Match, refused with 412 (stored).
    const stale = await creator.client.POST('/orders/{orderId}/cancel', {
      params: { path: { orderId: order.id }, header: { 'If-Match': '"v7"', 'Idempotency-Key': key } },
    });
    expect(stale.response.status).toBe(412);
    // The retry "fixes" the If-Match under the same key: a different request, so 422, and no cancel.
    for (const ifMatch of [etag, '*']) {
      const changed = await creator.client.POST('/orders/{orderId}/cancel', {
        params: { path: { orderId: order.id }, header: { 'If-Match': ifMatch, 'Idempotency-Key': key } },
      });
      expectReused(changed);
    }
    expect(await orderRow(app.db.sql, order.id)).toMatchObject({ status: 'pending', version: 1 });
    expect((await ledgerOf(app.db.sql, creator.user.id)).filter((r) => r.kind === 'order_refund')).toEqual([]);
    await expectLedgerBalanced(app.db.sql);
  });

  it('the same key on another endpoint, or on another order, is 422 and runs nothing', async () => {
    const creator = await actor(app.server.baseUrl, 'Creator');
    const joiner = await actor(app.server.baseUrl, 'Joiner');
    const first = await openOrder(creator, splitOrderInput(store));
    const second = await openOrder(creator, splitOrderInput(store));
    const key = newKey();

    const topUp = await joiner.client.POST('/users/me/credit/top-ups', {
      params: { header: { 'Idempotency-Key': key } },
      body: { amount: 3_000 },
    });
    expect(topUp.response.status).toBe(201);
    expectReused(await joiner.client.POST('/orders', { params: { header: { 'Idempotency-Key': key } }, body: splitOrderInput(store) }));
    expectReused(
      await joiner.client.POST('/orders/{orderId}/join', {
        params: { path: { orderId: first.order.id }, header: { 'If-Match': first.etag, 'Idempotency-Key': key } },
      }),
    );
    expect(await ordersOf(app.db.sql, joiner.user.id)).toHaveLength(0);
    expect(await orderRow(app.db.sql, first.order.id)).toMatchObject({ status: 'pending', version: 1 });

    // Same route, another path parameter.
    const joinKey = newKey();
    const joined = await joiner.client.POST('/orders/{orderId}/join', {
      params: { path: { orderId: first.order.id }, header: { 'If-Match': first.etag, 'Idempotency-Key': joinKey } },
    });
    expect(joined.response.status).toBe(200);
    expectReused(
      await joiner.client.POST('/orders/{orderId}/join', {
        params: { path: { orderId: second.order.id }, header: { 'If-Match': second.etag, 'Idempotency-Key': joinKey } },
      }),
    );
    expect(await orderRow(app.db.sql, second.order.id)).toMatchObject({ status: 'pending', version: 1, joiner_id: null });
    expect(await ledgerOf(app.db.sql, joiner.user.id)).toEqual(
      grantThen(
        { kind: 'top_up', amount: 3_000, order_id: null },
        { kind: 'order_charge', amount: -SPLIT_JOINER_SHARE, order_id: first.order.id },
      ),
    );
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('deterministic refusals are stored and replayed as they were', () => {
  function expectStoredRefusal(first: { response: Response }, again: { response: Response }, status: number) {
    expect(first.response.status).toBe(status);
    expectReplayOf(first, again);
  }

  it('a 402 replays as 402 even after the user has topped up; a new key then succeeds', async () => {
    const creator = await actor(app.server.baseUrl, 'Short');
    const key = newKey();
    // Five 허니콤보: the share is 57,500 + 1,500 = 59,000 KRW, more than the 50,000 grant.
    const body = { ...splitOrderInput(store), items: [{ menu_id: store.menuId, quantity: 5 }] };
    const send = (k: string) => creator.client.POST('/orders', { params: { header: { 'Idempotency-Key': k } }, body });

    const first = await send(key);
    expectProblem(sdkAnswer(first), 402, 'insufficient_credit');
    expect((await keyRow(app.db.sql, creator.user.id, key))?.response_status).toBe(402);
    const topUp = await creator.client.POST('/users/me/credit/top-ups', {
      params: { header: { 'Idempotency-Key': newKey() } },
      body: { amount: 20_000 },
    });
    expect(topUp.data!.credit).toBe(SIGNUP_GRANT + 20_000);

    const again = await send(key);
    expectStoredRefusal(first, again, 402);
    expect(await ordersOf(app.db.sql, creator.user.id)).toHaveLength(0);

    const fresh = await send(newKey());
    expect(fresh.response.status).toBe(201);
    expect(await ledgerOf(app.db.sql, creator.user.id)).toEqual(
      grantThen({ kind: 'top_up', amount: 20_000, order_id: null }, { kind: 'order_charge', amount: -59_000, order_id: fresh.data!.id }),
    );
    await expectLedgerBalanced(app.db.sql);
  });

  it('a 412 replays as 412 with its ETag and the order as it was, though the order has changed since', async () => {
    const creator = await actor(app.server.baseUrl, 'Creator');
    const joiner = await actor(app.server.baseUrl, 'Joiner');
    const { order, etag } = await openOrder(creator, splitOrderInput(store));
    const key = newKey();
    const send = () =>
      joiner.client.POST('/orders/{orderId}/join', {
        params: { path: { orderId: order.id }, header: { 'If-Match': '"v9"', 'Idempotency-Key': key } },
      });

    const first = await send();
    expect(expectProblem(sdkAnswer(first), 412, 'precondition_failed')).toMatchObject({ current: { status: 'pending', version: 1 } });
    expect(first.response.headers.get('etag')).toBe(etag);
    // The order moves on (cancelled, v2); the stored 412 still says what it said.
    await cancelOrder(creator, order.id, etag);
    const again = await send();
    expectStoredRefusal(first, again, 412);
    expect(again.response.headers.get('etag')).toBe(etag);
    expect(await ledgerOf(app.db.sql, joiner.user.id)).toEqual(grantThen());
    await expectLedgerBalanced(app.db.sql);
  });

  it('a 409 (order no longer pending) replays as 409, with no Retry-After: it is an answer, not a busy signal', async () => {
    const creator = await actor(app.server.baseUrl, 'Creator');
    const joiner = await actor(app.server.baseUrl, 'Joiner');
    const { order, etag } = await openOrder(creator, splitOrderInput(store));
    await cancelOrder(creator, order.id, etag);
    const key = newKey();
    const send = () =>
      joiner.client.POST('/orders/{orderId}/join', {
        params: { path: { orderId: order.id }, header: { 'If-Match': '*', 'Idempotency-Key': key } },
      });

    const first = await send();
    expectProblem(sdkAnswer(first), 409, 'order_not_pending');
    expect(first.response.headers.get('retry-after')).toBeNull();
    const again = await send();
    expectStoredRefusal(first, again, 409);
    expect(again.response.headers.get('retry-after')).toBeNull();
    expect(await ledgerOf(app.db.sql, joiner.user.id)).toEqual(grantThen());
    await expectLedgerBalanced(app.db.sql);
  });

  it('a 422 business refusal (joining your own order) replays as 422 with its own code', async () => {
    const creator = await actor(app.server.baseUrl, 'Creator');
    const { order, etag } = await openOrder(creator, splitOrderInput(store));
    const key = newKey();
    const send = () =>
      creator.client.POST('/orders/{orderId}/join', {
        params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': key } },
      });
    const first = await send();
    expectProblem(sdkAnswer(first), 422, 'own_order');
    const again = await send();
    expectStoredRefusal(first, again, 422);
    expect(await orderRow(app.db.sql, order.id)).toMatchObject({ status: 'pending', version: 1 });
    await expectLedgerBalanced(app.db.sql);
  });
});
