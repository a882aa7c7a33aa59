/**
 * The README's "Live status" example, kept here so that it is type-checked (`tsc` covers test/)
 * and run against a real server (test/blackbox/client-sdk-readme.test.ts), which also checks that
 * the README shows exactly this code. Edit both together.
 */
// README:begin
import { randomUUID } from 'node:crypto';
import { createCoOrderClient, followEvents, type Schemas } from '../../openapi/client.js';

type OrderChange = Extract<Schemas['StreamEvent'], { data: Schemas['OrderEvent'] }>;

/**
 * Follows the orders you take part in until `signal` aborts: each change as it commits, in order.
 * After a disconnect (a network drop, a server restarting) it resumes from the last event id it
 * got, so it misses nothing and sees nothing twice. `token()` gives a current access token: a
 * stream ends when the token that opened it expires, and is reopened with a fresh one.
 */
export async function followMyOrders(
  baseUrl: string,
  token: () => Promise<string>,
  onChange: (change: OrderChange) => void,
  signal: AbortSignal,
): Promise<void> {
  let lastEventId: string | undefined;
  while (!signal.aborted) {
    try {
      for await (const event of followEvents(baseUrl, '/users/me/events', { token: await token(), lastEventId, signal })) {
        if ('id' in event) lastEventId = event.id; // where to resume from
        if (event.event === 'stream.ended' && event.data.reason === 'session_revoked') return; // signed out
        if (event.event !== 'stream.opened' && event.event !== 'stream.ended') onChange(event);
      }
    } catch (error) {
      if (signal.aborted) return;
      console.log(`stream broke (${(error as Error).message}); resuming after ${lastEventId}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the server advises 3 s (retry:)
  }
}

export async function demoLive(baseUrl: string) {
  const login = async (name: string) => {
    const email = `${name.toLowerCase()}-${randomUUID()}@example.com`;
    const { data } = await createCoOrderClient(baseUrl).POST('/auth/dev/token', { body: { email, name } });
    return data!.access_token;
  };
  const minji = await login('Minji');
  const junho = createCoOrderClient(baseUrl, await login('Junho'));

  // Minji follows her orders instead of polling GET /orders/{orderId} with If-None-Match.
  const changes: OrderChange[] = [];
  const stop = new AbortController();
  const following = followMyOrders(
    baseUrl,
    async () => minji,
    (change) => changes.push(change),
    stop.signal,
  );

  const stores = await createCoOrderClient(baseUrl, minji).GET('/stores', { params: { query: { category: '치킨' } } });
  const store = stores.data!.items[0];
  const menus = await createCoOrderClient(baseUrl, minji).GET('/stores/{storeId}/menus', { params: { path: { storeId: store.id } } });
  const menu = menus.data!.items[0];
  const opened = await createCoOrderClient(baseUrl, minji).POST('/orders', {
    params: { header: { 'Idempotency-Key': randomUUID() } },
    body: {
      store_id: store.id,
      split_type: 'split',
      items: [{ menu_id: menu.id, quantity: Math.ceil(store.min_order_price / menu.price) }],
      delivery: { address: store.address, lat: store.lat, lon: store.lon },
    },
  });
  // Junho joins with the ETag the event carried, as he would after seeing it on his own stream.
  while (changes.length < 1) await new Promise((resolve) => setTimeout(resolve, 50));
  await junho.POST('/orders/{orderId}/join', {
    params: { path: { orderId: opened.data!.id }, header: { 'If-Match': changes[0].data.etag, 'Idempotency-Key': randomUUID() } },
  });
  while (changes.length < 2) await new Promise((resolve) => setTimeout(resolve, 50));
  for (const { event, id, data } of changes) console.log(`${id} ${event}: ${data.order_id} is ${data.status} at ${data.etag}`);
  stop.abort();
  await following;
  return changes;
}
// README:end
