/**
 * The README's "Client SDK" example, kept here so that it is type-checked (`tsc` covers test/) and
 * run against a real server (test/blackbox/client-sdk-readme.test.ts), which also checks that the
 * README shows exactly this code. Edit both together.
 */
// README:begin
import { randomUUID } from 'node:crypto';
import { createCoOrderClient, type CoOrderClient, type Schemas } from '../../openapi/client.js';

type Order = Schemas['Order'];

/** Signs in (development login) and returns a client that sends the bearer token. */
export async function login(baseUrl: string, name: string): Promise<CoOrderClient> {
  const email = `${name.toLowerCase()}-${randomUUID()}@example.com`;
  const { data, error } = await createCoOrderClient(baseUrl).POST('/auth/dev/token', { body: { email, name } });
  if (error) throw new Error(`login: ${error.code}: ${error.detail}`);
  return createCoOrderClient(baseUrl, data.access_token);
}

/** Opens a `split` order at the first store of a category: its cheapest menu, enough to reach the minimum. */
export async function openOrder(client: CoOrderClient, category: string): Promise<{ order: Order; etag: string }> {
  const stores = await client.GET('/stores', { params: { query: { category } } });
  const store = stores.data!.items[0];
  const menus = await client.GET('/stores/{storeId}/menus', { params: { path: { storeId: store.id } } });
  const menu = menus.data!.items[0];
  const { data, error, response } = await client.POST('/orders', {
    // One key per order you mean to open. If the request times out, send it again with the same
    // key: you get the first answer (Idempotent-Replayed: true), never a second charge.
    params: { header: { 'Idempotency-Key': randomUUID() } },
    body: {
      store_id: store.id,
      split_type: 'split',
      items: [{ menu_id: menu.id, quantity: Math.ceil(store.min_order_price / menu.price) }],
      delivery: { address: store.address, lat: store.lat, lon: store.lon },
    },
  });
  if (error) throw new Error(`open: ${error.status} ${error.code}: ${error.detail}`);
  return { order: data, etag: response.headers.get('ETag')! };
}

/**
 * Joins the order you read at `etag`. On 412 someone changed it first: the problem carries the
 * current order (`current`) and its ETag, so decide again without another GET (or GET it again).
 * Returns undefined when the order is no longer joinable.
 */
export async function join(client: CoOrderClient, orderId: string, etag: string): Promise<Order | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const { data, error, response } = await client.POST('/orders/{orderId}/join', {
      // A new decision (another If-Match) is a new request: a new key. 412 is final for its key.
      params: { path: { orderId }, header: { 'If-Match': etag, 'Idempotency-Key': randomUUID() } },
    });
    if (!error) return data; // 200: matched, and your share is charged
    if (response.status !== 412) throw new Error(`join: ${error.status} ${error.code}: ${error.detail}`);
    // You take no part in it yet: `current` is the order as anyone may see it (no address, no ids).
    const current = error.current as Schemas['PublicOrder']; // or: (await client.GET('/orders/{orderId}', ...)).data
    if (current.status !== 'pending') return undefined; // someone else joined, or it was cancelled
    etag = response.headers.get('ETag')!; // still pending: try again on the version we now know
  }
  throw new Error('join: the order keeps changing');
}

export async function demo(baseUrl: string) {
  const minji = await login(baseUrl, 'Minji');
  const junho = await login(baseUrl, 'Junho');
  const seoyeon = await login(baseUrl, 'Seoyeon');

  const { order, etag } = await openOrder(minji, '치킨');
  console.log(`Minji opened ${order.id} (${order.status}, ETag ${etag}), paying ${order.shares.creator} KRW`);

  // Seoyeon reads the order now, but Junho joins before she does.
  const seen = await seoyeon.GET('/orders/{orderId}', { params: { path: { orderId: order.id } } });
  const matched = await join(junho, order.id, etag);
  console.log(`Junho joined: ${matched?.status}, paying ${matched?.shares.joiner} KRW`);
  const late = await join(seoyeon, order.id, seen.response.headers.get('ETag')!);
  console.log(late ? 'Seoyeon joined' : 'Seoyeon was too late: the order is already matched');
  return { order, matched, late };
}
// README:end
