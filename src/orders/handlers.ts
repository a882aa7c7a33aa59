import type { RouteHandler } from '@hono/zod-openapi';
import { z } from '@hono/zod-openapi';
import { DomainError } from '../domain/errors.js';
import { boundingBox } from '../domain/geo.js';
import type { Deps } from '../http/deps.js';
import type { AppEnv } from '../http/env.js';
import { etagOf, notModified, requireIfMatch } from '../http/etag.js';
import { runAction } from '../http/idempotency.js';
import { decodeCursor, page } from '../http/pagination.js';
import { presentStore } from '../stores/handlers.js';
import { findStores } from '../stores/repository.js';
import { cancelOrder } from './cancel.js';
import { completeOrder } from './complete.js';
import { createOrder } from './create.js';
import { expireOrder } from './expire.js';
import { joinOrder } from './join.js';
import { presentOrder } from './present.js';
import { findMyOrders, findNearbyOrders, loadOrder, type OrderWithItems } from './repository.js';
import type {
  cancelOrderRoute, completeOrderRoute, createOrderRoute, expireOrderRoute, getOrderRoute, joinOrderRoute,
  listMyOrdersRoute, listNearbyRoute,
} from './routes.js';

const orderOutcome = (order: OrderWithItems) => ({
  status: 200 as const,
  body: presentOrder(order),
  headers: { ETag: etagOf(order.version) },
});

export const postOrder =
  (deps: Deps): RouteHandler<typeof createOrderRoute, AppEnv> =>
  async (c) => {
    const input = c.req.valid('json');
    return runAction(c, deps.db, { keyRequired: true, body: input }, async (tx) => {
      const order = await createOrder(tx, c.var.userId, input, deps.config.ORDER_TTL_MINUTES);
      return { ...orderOutcome(order), status: 201 as const, headers: { ETag: etagOf(order.version), Location: `/orders/${order.id}` } };
    });
  };

export const getOrder =
  (deps: Deps): RouteHandler<typeof getOrderRoute, AppEnv> =>
  async (c) => {
    const { orderId } = c.req.valid('param');
    // presentOrder picks its fields: the row (read_at included) is presented as it came.
    const order = await loadOrder(deps.db, orderId);
    if (!order) throw new DomainError('not_found', `No order ${orderId}.`);
    c.header('ETag', etagOf(order.version));
    if (notModified(c, order.version)) return c.body(null, 304);
    return c.json(presentOrder(order), 200);
  };

export const postJoin =
  (deps: Deps): RouteHandler<typeof joinOrderRoute, AppEnv> =>
  async (c) => {
    const condition = requireIfMatch(c);
    const { orderId } = c.req.valid('param');
    const body = c.req.valid('json');
    return runAction(c, deps.db, { keyRequired: true, body }, async (tx) =>
      orderOutcome(await joinOrder(tx, c.var.userId, orderId, condition, body.items)),
    );
  };

export const postCancel =
  (deps: Deps): RouteHandler<typeof cancelOrderRoute, AppEnv> =>
  async (c) => {
    const condition = requireIfMatch(c);
    const { orderId } = c.req.valid('param');
    return runAction(c, deps.db, { keyRequired: true }, async (tx) =>
      orderOutcome(await cancelOrder(tx, { kind: 'user', userId: c.var.userId }, orderId, condition)),
    );
  };

export const postExpire =
  (deps: Deps): RouteHandler<typeof expireOrderRoute, AppEnv> =>
  async (c) => {
    const condition = requireIfMatch(c);
    const { orderId } = c.req.valid('param');
    return runAction(c, deps.db, { keyRequired: false }, async (tx) =>
      orderOutcome(await expireOrder(tx, { kind: 'user', userId: c.var.userId }, orderId, condition)),
    );
  };

export const postComplete =
  (deps: Deps): RouteHandler<typeof completeOrderRoute, AppEnv> =>
  async (c) => {
    const condition = requireIfMatch(c);
    const { orderId } = c.req.valid('param');
    return runAction(c, deps.db, { keyRequired: false }, async (tx) =>
      orderOutcome(await completeOrder(tx, { kind: 'user', userId: c.var.userId }, orderId, condition)),
    );
  };

const NearbyCursor = z.object({ distance: z.number(), id: z.string().uuid() });

export const getNearby =
  (deps: Deps): RouteHandler<typeof listNearbyRoute, AppEnv> =>
  async (c) => {
    const { lat, lon, category, limit, cursor } = c.req.valid('query');
    const radiusM = c.req.valid('query').radius_m ?? deps.config.NEARBY_DEFAULT_RADIUS_M;
    const rows = await findNearbyOrders(deps.db, {
      userId: c.var.userId,
      lat,
      lon,
      radiusM,
      box: boundingBox(lat, lon, radiusM),
      category,
      after: decodeCursor(cursor, NearbyCursor),
      limit,
    });
    const result = page(rows, limit, (row) => ({ distance: row.distance_m, id: row.id }));
    const stores = await findStores(deps.db, [...new Set(result.items.map((o) => o.store_id))]);
    return c.json(
      {
        // distance_m added to the presented order, last, rather than copying it into a new object.
        items: result.items.map((row) => Object.assign(presentOrder(row), { distance_m: Math.round(row.distance_m * 10) / 10 })),
        included: { stores: stores.map(presentStore) },
        next_cursor: result.next_cursor,
      },
      200,
    );
  };

const MyOrdersCursor = z.object({ created_at: z.string().datetime(), id: z.string().uuid() });

export const getMyOrders =
  (deps: Deps): RouteHandler<typeof listMyOrdersRoute, AppEnv> =>
  async (c) => {
    const { role, status, limit, cursor } = c.req.valid('query');
    const rows = await findMyOrders(deps.db, { userId: c.var.userId, role, status, after: decodeCursor(cursor, MyOrdersCursor), limit });
    const result = page(rows, limit, (o) => ({ created_at: o.cursor_created_at, id: o.id }));
    return c.json({ items: result.items.map(presentOrder), next_cursor: result.next_cursor }, 200);
  };
