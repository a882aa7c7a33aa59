/**
 * The README's "Client SDK" example, kept here so that it is type-checked (`tsc` covers test/) and
 * run against a real server (test/blackbox/client-sdk-readme.test.ts), which also checks that the
 * README shows exactly this code. Edit both together.
 */
// README:begin
import { randomUUID } from 'node:crypto';
import { createCoOrderClient, type CoOrderClient, type Schemas } from '../../openapi/client.js';

type Order = Schemas['Order'];

/**
 * Signs in (development login) and returns a client that sends the bearer token. In development
 * the login also grants roles: `staff_of` a store's id, or `rider: true` (in production an
 * operator grants them with `npm run admin`).
 */
export async function login(
  baseUrl: string,
  name: string,
  roles: { staff_of?: string[]; rider?: boolean } = {},
): Promise<CoOrderClient> {
  const email = `${name.toLowerCase()}-${randomUUID()}@example.com`;
  const { data, error } = await createCoOrderClient(baseUrl).POST('/auth/dev/token', { body: { email, name, ...roles } });
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

/**
 * The store accepts and prepares the order, a rider picks it up and delivers it: each step with
 * the ETag of the one before (a 412 would mean someone else acted first). Delivery completes the
 * order and pays the store; like every money-moving action it takes an Idempotency-Key.
 */
export async function fulfil(store: CoOrderClient, rider: CoOrderClient, orderId: string, etag: string) {
  const step = async (client: CoOrderClient, action: 'accept' | 'ready' | 'pick-up' | 'deliver') => {
    const { data, error, response } = await client.POST(`/orders/{orderId}/${action}`, {
      params: { path: { orderId }, header: { 'If-Match': etag, 'Idempotency-Key': randomUUID() } },
    });
    if (error) throw new Error(`${action}: ${error.status} ${error.code}: ${error.detail}`);
    etag = response.headers.get('ETag')!;
    return data;
  };
  await step(store, 'accept'); // the store takes it: from now on nobody can cancel it
  await step(store, 'ready');
  const picked = await step(rider, 'pick-up'); // the first rider wins; the answer shows the address
  console.log(`The rider takes it to ${picked.delivery.address}`);
  return step(rider, 'deliver'); // completed: what the order held is paid to the store
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

  const store = await login(baseUrl, 'Cook', { staff_of: [order.store_id] });
  const rider = await login(baseUrl, 'Rider', { rider: true });
  const delivered = await fulfil(store, rider, order.id, `"v${matched!.version}"`);
  const payouts = await store.GET('/stores/{storeId}/ledger', { params: { path: { storeId: order.store_id } } });
  console.log(`Delivered: ${delivered.status}; the store was paid ${payouts.data!.items[0].amount} KRW`);
  return { order, matched, late, delivered };
}
// README:end
