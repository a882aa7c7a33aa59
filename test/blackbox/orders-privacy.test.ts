/**
 * Who sees what of an order. Its creator and joiner see all of it (`view: participant`); anyone
 * else — a neighbour browsing, a stranger — sees the public view (`view: public`): no delivery
 * address, no exact point, no user id anywhere, only how far it is, to the nearest 10 m. Checked
 * on the raw JSON text of each answer (the keys are absent, not empty), at GET /orders/{id}, in
 * the nearby list, in a 412's `current` and in the answer to expire.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCoOrderClient, type CoOrderClient } from '../../openapi/client.js';
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
let store: TestStore;

beforeAll(async () => {
  store = await insertStore(app.db.sql, { minimum: 1000, tip: 3001, menus: { wings: 12_001, fries: 4003 } });
});

const PUBLIC_KEYS = [
  'view',
  'id',
  'store_id',
  'split_type',
  'status',
  'version',
  'created_at',
  'expires_at',
  'matched_at',
  'accept_by',
  'accepted_at',
  'ready_at',
  'picked_up_at',
  'completed_at',
  'cancelled_at',
  'expired_at',
  'rejected_at',
  'items',
  'menu_total',
  'delivery_tip',
  'shares',
  'distance_m',
].sort();
const PUBLIC_ITEM_KEYS = ['menu_id', 'name', 'quantity', 'unit_price'].sort();

/** A user whose SDK client keeps the raw text of the last response body, to search it. */
interface Watched extends TestUser {
  raw: () => string;
}

async function watched(name: string, home?: Point): Promise<Watched> {
  const user = await signUp(app.server.baseUrl, name);
  if (home) {
    const put = await user.client.PUT('/users/me/address', {
      params: { header: { 'If-Match': '*' } },
      body: { address: `home of ${name} ${randomUUID().slice(0, 8)}`, ...home },
    });
    expect(put.response.status).toBe(200);
  }
  let last = '';
  const client: CoOrderClient = createCoOrderClient(app.server.baseUrl, user.token);
  client.use({
    async onResponse({ response }) {
      last = await response.clone().text();
    },
  });
  return { ...user, client, raw: () => last };
}

/** What must never reach a non-participant: the address, the point (as JSON writes it) and the user ids. */
const secretsOf = (order: Order) =>
  [
    order.delivery.address,
    JSON.stringify(order.delivery.lat),
    JSON.stringify(order.delivery.lon),
    order.creator_id,
    order.joiner_id,
  ].filter((s): s is string => s !== null);

/** A public view: exactly its keys (none hidden is present, even empty), and none of the secrets in the raw text. */
function expectPublicView(view: unknown, raw: string, participantView: Order) {
  const order = view as Record<string, unknown> & { items: object[] };
  expect(Object.keys(order).sort()).toEqual(PUBLIC_KEYS);
  expect(order.view).toBe('public');
  expect(order.items.length).toBe(participantView.items.length);
  for (const item of order.items) expect(Object.keys(item).sort()).toEqual(PUBLIC_ITEM_KEYS);
  for (const secret of secretsOf(participantView)) expect(raw).not.toContain(secret);
  // Everything else is what the participants see.
  const { distance_m: _, ...rest } = order;
  expect(rest).toEqual(publicPartOf(participantView));
}

/** A distance to the nearest 10 m: a multiple of 10, within 5 m of the true one. */
function expectRoughly(distance: unknown, from: Point, to: Point) {
  expect(typeof distance).toBe('number');
  expect((distance as number) % 10).toBe(0);
  expect(Math.abs((distance as number) - distanceM(from, to))).toBeLessThanOrEqual(5);
}

const get = (user: TestUser, orderId: string) => user.client.GET('/orders/{orderId}', { params: { path: { orderId } } });

function openSeparate(creator: TestUser, at: Point) {
  return openOrder(creator, {
    store_id: store.id,
    split_type: 'separate',
    items: [{ menu_id: store.menus.wings, quantity: 1 }],
    delivery: deliveryAt(at),
  });
}

describe('what others see of an order', () => {
  it('its creator sees all of it; a neighbour and a stranger see the public view at GET /orders/{id}', async () => {
    const spot = uniqueSpot();
    const creator = await watched('Creator', offset(spot, 5, 0));
    const neighbourHome = offset(spot, 137, 60);
    const neighbour = await watched('Neighbour', neighbourHome);
    const stranger = await watched('Stranger');
    const { order: created } = await openSeparate(creator, spot);
    expect(created.view).toBe('participant');

    const asCreator = await get(creator, created.id);
    expect(asCreator.response.status).toBe(200);
    expect(asCreator.data).toEqual(created);
    expect(created).toMatchObject({ creator_id: creator.user.id, joiner_id: null, delivery: { lat: spot.lat, lon: spot.lon } });
    expect(created.items.map((i) => i.user_id)).toEqual([creator.user.id]);
    expect(creator.raw()).toContain(created.delivery.address);

    const asNeighbour = await get(neighbour, created.id);
    expect(asNeighbour.response.status).toBe(200);
    expect(asNeighbour.response.headers.get('etag')).toBe(asCreator.response.headers.get('etag'));
    expectPublicView(asNeighbour.data, neighbour.raw(), created);
    // From the neighbour's saved address (137 m away): 140.
    expect(asNeighbour.data).toMatchObject({ view: 'public', distance_m: 140 });
    expectRoughly((asNeighbour.data as { distance_m: number }).distance_m, neighbourHome, spot);

    // A stranger without a saved address: the same view, and no distance to tell.
    const asStranger = await get(stranger, created.id);
    expect(asStranger.response.status).toBe(200);
    expectPublicView(asStranger.data, stranger.raw(), created);
    expect(asStranger.data).toMatchObject({ view: 'public', distance_m: null });

    // The creator's own list is always the participant view.
    const mine = await creator.client.GET('/users/me/orders', { params: { query: {} } });
    expect(mine.data!.items).toEqual([created]);
  });

  it('the nearby list shows others only the public view, with the distance from the query point to 10 m', async () => {
    const spot = uniqueSpot();
    const creator = await watched('Creator');
    const neighbour = await watched('Neighbour', offset(spot, 40, 10));
    const stranger = await watched('Stranger');
    const { order: created } = await openSeparate(creator, spot);
    const from = offset(spot, 83, 200);

    for (const looking of [neighbour, stranger]) {
      const { data, response } = await looking.client.GET('/orders', { params: { query: { ...from, radius_m: 300 } } });
      expect(response.status).toBe(200);
      expect(data!.items).toHaveLength(1);
      const [item] = data!.items;
      expectPublicView(item, looking.raw(), created);
      expect(item.distance_m).toBe(80);
      expectRoughly(item.distance_m, from, spot);
      expect(data!.included.stores.map((s) => s.id)).toEqual([store.id]);
    }
  });

  it('who loses the race to join gets a 412 whose current is the public view; the winner then sees all of it', async () => {
    const spot = uniqueSpot();
    const creator = await watched('Creator');
    const joiner = await watched('Joiner');
    const loserHome = offset(spot, 212, 300);
    const loser = await watched('Loser', loserHome);
    const stranger = await watched('Stranger');
    const { order: created, etag } = await openSeparate(creator, spot);

    // Both read v1; the joiner gets there first.
    const { order: matched } = await joinOrder(joiner, created.id, etag, { items: [{ menu_id: store.menus.fries, quantity: 2 }] });
    expect(matched).toMatchObject({ view: 'participant', status: 'matched', creator_id: creator.user.id, joiner_id: joiner.user.id });
    expect(matched.delivery).toEqual(created.delivery);
    expect(matched.items.map((i) => i.user_id)).toEqual([creator.user.id, joiner.user.id]);
    const late = await loser.client.POST('/orders/{orderId}/join', {
      params: { path: { orderId: created.id }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
      body: { items: [{ menu_id: store.menus.fries, quantity: 1 }] },
    });
    expect(late.response.status).toBe(412);
    expect(late.response.headers.get('etag')).toBe('"v2"');
    const current = (late.error as { current?: unknown }).current;
    expectPublicView(current, loser.raw(), matched);
    expect(current).toMatchObject({ status: 'matched', version: 2, distance_m: 210 });
    expectRoughly((current as { distance_m: number }).distance_m, loserHome, spot);
    // Just what the loser's own GET shows.
    const asLoser = await get(loser, created.id);
    expect(current).toEqual(asLoser.data);

    // The joiner and the creator now see the same whole order; others still do not see who joined.
    for (const participant of [joiner, creator]) {
      const seen = await get(participant, created.id);
      expect(seen.data).toEqual(matched);
      expect(participant.raw()).toContain(joiner.user.id);
    }
    const asStranger = await get(stranger, created.id);
    expectPublicView(asStranger.data, stranger.raw(), matched);
    expect(asStranger.data).toMatchObject({ status: 'matched', distance_m: null });
    await expectLedgerBalanced(app.db.sql);
  });

  it('tells a distance of 0 between points a hair apart near 0° (no float underflow: a 200 and a 412, not a 500)', async () => {
    const creator = await watched('Creator');
    const neighbour = await watched('Neighbour', { lat: 1e-300, lon: 1e-300 });
    const { order: created, etag } = await openOrder(creator, {
      store_id: store.id,
      split_type: 'split',
      items: [{ menu_id: store.menus.wings, quantity: 1 }],
      delivery: deliveryAt({ lat: 2e-300, lon: 2e-300 }),
    });
    const seen = await get(neighbour, created.id);
    expect(seen.response.status).toBe(200);
    expect(seen.data).toMatchObject({ view: 'public', distance_m: 0 });
    const cancel = await creator.client.POST('/orders/{orderId}/cancel', {
      params: { path: { orderId: created.id }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
    });
    expect(cancel.response.status).toBe(200);
    const late = await neighbour.client.POST('/orders/{orderId}/join', {
      params: { path: { orderId: created.id }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
    });
    expect(late.response.status).toBe(412);
    expect((late.error as { current?: unknown }).current).toMatchObject({ view: 'public', status: 'cancelled', distance_m: 0 });
    await expectLedgerBalanced(app.db.sql);
  });

  it('expire answers a neighbour with the public view and the creator with all of it', async () => {
    const spot = uniqueSpot();
    const creator = await watched('Creator');
    const neighbourHome = offset(spot, 61, 135);
    const neighbour = await watched('Neighbour', neighbourHome);
    const first = await openSeparate(creator, spot);
    const second = await openSeparate(creator, offset(spot, 20, 0));
    // Time passing is not something the API can do: the orders are made overdue in the database.
    await app.db
      .sql`UPDATE orders SET expires_at = now() - interval '1 second' WHERE id IN ${app.db.sql([first.order.id, second.order.id])}`;

    const byNeighbour = await neighbour.client.POST('/orders/{orderId}/expire', {
      params: { path: { orderId: first.order.id }, header: { 'If-Match': first.etag } },
    });
    expect(byNeighbour.response.status).toBe(200);
    expect(byNeighbour.response.headers.get('etag')).toBe('"v2"');
    const asCreator = await get(creator, first.order.id);
    expect(asCreator.data).toMatchObject({ view: 'participant', status: 'expired', version: 2 });
    expectPublicView(byNeighbour.data, neighbour.raw(), asCreator.data as Order);
    expect(byNeighbour.data).toMatchObject({ status: 'expired', distance_m: 60 });
    expectRoughly((byNeighbour.data as { distance_m: number }).distance_m, neighbourHome, spot);

    const byCreator = await creator.client.POST('/orders/{orderId}/expire', {
      params: { path: { orderId: second.order.id }, header: { 'If-Match': second.etag } },
    });
    expect(byCreator.response.status).toBe(200);
    expect(byCreator.data).toMatchObject({
      view: 'participant',
      status: 'expired',
      creator_id: creator.user.id,
      delivery: second.order.delivery,
    });
    expect(byCreator.data).toEqual((await get(creator, second.order.id)).data);
    await expectLedgerBalanced(app.db.sql);
  });
});
