/**
 * The requests of the bench's order scenarios, as a client app sends them. One definition for the
 * scenarios and for the capture of the service's statements (lib/floor.ts): the floor replays
 * what the service does for exactly these requests.
 */
import type { HttpRequest } from './load.js';

/** GET /orders/{id}; with the order's ETag in If-None-Match (a poll: 304 while it is unchanged). */
export function getOrderRequest(order: { id: string; version: number }, authorization: string, withTag: boolean): HttpRequest {
  const headers: Record<string, string> = { authorization };
  if (withTag) headers['if-none-match'] = `"v${order.version}"`;
  return { method: 'GET', path: `/orders/${order.id}`, headers };
}

/** Joining a split order as it was opened (version 1): no items. */
export function joinRequest(orderId: string, authorization: string, key: string): HttpRequest {
  return {
    method: 'POST',
    path: `/orders/${orderId}/join`,
    headers: { authorization, 'content-type': 'application/json', 'if-match': '"v1"', 'idempotency-key': key },
    body: '{}',
  };
}

/** Opening a split order of one menu, delivered to `address` at (lat, lon). */
export function createRequest(o: {
  authorization: string;
  key: string;
  storeId: string;
  menuId: string;
  address: string;
  lat: number;
  lon: number;
}): HttpRequest {
  return {
    method: 'POST',
    path: '/orders',
    headers: { authorization: o.authorization, 'content-type': 'application/json', 'idempotency-key': o.key },
    body: JSON.stringify({
      store_id: o.storeId,
      split_type: 'split',
      items: [{ menu_id: o.menuId, quantity: 1 }],
      delivery: { address: o.address, lat: Number(o.lat.toFixed(6)), lon: Number(o.lon.toFixed(6)) },
    }),
  };
}

/** The store's or a rider's step on an order at `version`, under an Idempotency-Key (no body). */
export function stepRequest(
  action: 'accept' | 'pick-up' | 'deliver',
  orderId: string,
  version: number,
  authorization: string,
  key: string,
): HttpRequest {
  return {
    method: 'POST',
    path: `/orders/${orderId}/${action}`,
    headers: { authorization, 'if-match': `"v${version}"`, 'idempotency-key': key },
  };
}
