import type { RouteHandler } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Tx } from '../db/database.js';
import type { VersionCondition } from '../domain/versions.js';
import { z } from '@hono/zod-openapi';
import { DomainError } from '../domain/errors.js';
import { boundingBox } from '../domain/geo.js';
import type { Deps } from '../http/deps.js';
import type { AppEnv } from '../http/env.js';
import { etagOf, hasTag, notModified, pageTag, requireIfMatch } from '../http/etag.js';
import { params } from '../http/openapi.js';
import { runAction, type ActionOutcome } from '../idempotency/run-action.js';
import { presentStore } from '../stores/present.js';
import { findStores } from '../stores/repository.js';
import { DELIVERIES_DEFAULT_RADIUS_M } from '../domain/limits.js';
import type { UserActor } from '../domain/order-state.js';
import { isRider, isStaffOf } from '../roles/repository.js';
import { acceptOrder } from './accept.js';
import { cancelOrder } from './cancel.js';
import { createOrder } from './create.js';
import { deliverOrder } from './deliver.js';
import { expireOrder } from './expire.js';
import type { RequestedItem } from './items.js';
import { joinOrder } from './join.js';
import { pickUpOrder } from './pick-up.js';
import { readyOrder } from './ready.js';
import { rejectOrder } from './reject.js';
import {
  isParticipant,
  presentDeliveryOffer,
  presentFulfilmentOrder,
  presentOrderFor,
  presentParticipantOrder,
  presentPublicOrder,
} from './present.js';
import {
  distanceFromSavedAddress,
  findMyOrders,
  findNearbyOrders,
  findReadyOrders,
  findRiderOrders,
  findStoreOrders,
  loadOrder,
  type OrderWithItems,
} from './repository.js';
import {
  STORE_QUEUE_STATUSES,
  acceptOrderRoute,
  cancelOrderRoute,
  deliverOrderRoute,
  expireOrderRoute,
  joinOrderRoute,
  pickUpOrderRoute,
  readyOrderRoute,
  rejectOrderRoute,
  type createOrderRoute,
  type getOrderRoute,
  type listDeliveriesRoute,
  type listMyDeliveriesRoute,
  type listMyOrdersRoute,
  type listNearbyRoute,
  type listStoreOrdersRoute,
} from './routes.js';

/** An action's answer to a participant (only they may create, join or cancel): the whole order. */
const orderOutcome = (order: OrderWithItems) => ({
  status: 200 as const,
  body: presentParticipantOrder(order),
  headers: { ETag: etagOf(order.version) },
});

export const postOrder =
  (deps: Deps): RouteHandler<typeof createOrderRoute, AppEnv> =>
  async (c) => {
    const input = c.req.valid('json');
    return runAction(c, deps.db, { keyRequired: true, body: input }, async (tx) => {
      const order = await createOrder(tx, c.var.userId, input, deps.config.ORDER_TTL_MINUTES, {
        maxOpenOrders: deps.config.MAX_OPEN_ORDERS,
        deliveryRadiusM: deps.config.DELIVERY_RADIUS_M,
      });
      return { ...orderOutcome(order), status: 201 as const, headers: { ETag: etagOf(order.version), Location: `/orders/${order.id}` } };
    });
  };

export const getOrder =
  (deps: Deps): RouteHandler<typeof getOrderRoute, AppEnv> =>
  async (c) => {
    const { orderId } = c.req.valid('param');
    // The presenters pick their fields: the row (read_at included) is presented as it came.
    const order = await loadOrder(deps.db, orderId, c.var.userId);
    if (!order) throw new DomainError('not_found', `No order ${orderId}.`);
    c.header('ETag', etagOf(order.version));
    if (notModified(c, order.version)) return c.body(null, 304);
    return c.json(presentOrderFor(order, c.var.userId, order.viewer_distance_m, order.viewer_is_staff), 200);
  };

/** What an action's verb gets: the transaction, who acts, on which order, at which version. */
interface ActionRequest {
  tx: Tx;
  userId: string;
  orderId: string;
  condition: VersionCondition;
  deps: Deps;
}

type ActionRoute =
  | typeof joinOrderRoute
  | typeof cancelOrderRoute
  | typeof expireOrderRoute
  | typeof acceptOrderRoute
  | typeof rejectOrderRoute
  | typeof readyOrderRoute
  | typeof pickUpOrderRoute
  | typeof deliverOrderRoute;

/**
 * The handler of an order action: If-Match (428 without it), the order id and the body if the
 * route takes one, then the verb in runAction, with an Idempotency-Key required or optional as
 * the route's contract declares it.
 */
function orderAction<R extends ActionRoute>(
  route: R,
  verb: (
    request: ActionRequest,
    body: { items?: RequestedItem[] } | undefined,
  ) => Promise<ActionOutcome<ReturnType<typeof presentOrderFor> | ReturnType<typeof presentFulfilmentOrder>, 200>>,
) {
  const keyRequired = (route.parameters as unknown[]).includes(params.idempotencyKeyRequired);
  return (deps: Deps): RouteHandler<R, AppEnv> =>
    (async (c: Context<AppEnv>) => {
      const condition = requireIfMatch(c);
      const { orderId } = (c.req as unknown as { valid(target: 'param'): { orderId: string } }).valid('param');
      const body =
        'body' in route.request ? (c.req as unknown as { valid(target: 'json'): { items?: RequestedItem[] } }).valid('json') : undefined;
      return runAction(c, deps.db, { keyRequired, body }, (tx) => verb({ tx, userId: c.var.userId, orderId, condition, deps }, body));
    }) as unknown as RouteHandler<R, AppEnv>;
}

const asUser = (userId: string): UserActor => ({ kind: 'user', userId });

export const postJoin = orderAction(joinOrderRoute, async ({ tx, userId, orderId, condition, deps }, body) =>
  orderOutcome(await joinOrder(tx, userId, orderId, condition, body?.items, deps.config.STORE_ACCEPT_MINUTES)),
);

export const postCancel = orderAction(cancelOrderRoute, async ({ tx, userId, orderId, condition }) =>
  orderOutcome(await cancelOrder(tx, asUser(userId), orderId, condition)),
);

export const postExpire = orderAction(expireOrderRoute, async ({ tx, userId, orderId, condition }) => {
  const order = await expireOrder(tx, asUser(userId), orderId, condition);
  // Anyone may expire an overdue order: who does not take part in it gets the public view.
  const point = { lat: order.delivery_lat, lon: order.delivery_lon };
  const distance = isParticipant(order, userId) ? null : await distanceFromSavedAddress(tx, userId, point);
  return { ...orderOutcome(order), body: presentOrderFor(order, userId, distance) };
});

/** The answer of a store's or a rider's action: the order as they see it, with its delivery address. */
const fulfilmentOutcome = (order: OrderWithItems) => ({
  status: 200 as const,
  body: presentFulfilmentOrder(order),
  headers: { ETag: etagOf(order.version) },
});

export const postAccept = orderAction(acceptOrderRoute, async ({ tx, userId, orderId, condition }) =>
  fulfilmentOutcome(await acceptOrder(tx, asUser(userId), orderId, condition)),
);

export const postReject = orderAction(rejectOrderRoute, async ({ tx, userId, orderId, condition }) =>
  fulfilmentOutcome(await rejectOrder(tx, asUser(userId), orderId, condition)),
);

export const postReady = orderAction(readyOrderRoute, async ({ tx, userId, orderId, condition }) =>
  fulfilmentOutcome(await readyOrder(tx, asUser(userId), orderId, condition)),
);

export const postPickUp = orderAction(pickUpOrderRoute, async ({ tx, userId, orderId, condition }) =>
  fulfilmentOutcome(await pickUpOrder(tx, asUser(userId), orderId, condition)),
);

export const postDeliver = orderAction(deliverOrderRoute, async ({ tx, userId, orderId, condition }) =>
  fulfilmentOutcome(await deliverOrder(tx, asUser(userId), orderId, condition)),
);

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
      after: deps.cursors.decode(cursor, NearbyCursor),
      limit,
    });
    const result = deps.cursors.page(rows, limit, (row) => ({ distance: row.distance_m, id: row.id }));
    const stores = await findStores(deps.db, [...new Set(result.items.map((o) => o.store_id))]);
    return c.json(
      {
        // Never the caller's own (nor one they joined: it is not pending): always the public view.
        items: result.items.map((row) => presentPublicOrder(row, row.distance_m)),
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
    const rows = await findMyOrders(deps.db, {
      userId: c.var.userId,
      role,
      status,
      after: deps.cursors.decode(cursor, MyOrdersCursor),
      limit,
    });
    const result = deps.cursors.page(rows, limit, (o) => ({ created_at: o.cursor_created_at, id: o.id }));
    return c.json({ items: result.items.map(presentParticipantOrder), next_cursor: result.next_cursor }, 200);
  };

const StoreQueueCursor = z.object({ created_at: z.string().datetime(), id: z.string().uuid() });

export const getStoreOrders =
  (deps: Deps): RouteHandler<typeof listStoreOrdersRoute, AppEnv> =>
  async (c) => {
    const { storeId } = c.req.valid('param');
    const { status, limit, cursor } = c.req.valid('query');
    if (!(await isStaffOf(deps.db, c.var.userId, storeId))) {
      throw new DomainError('forbidden', "Only the store's staff may see its orders.");
    }
    const rows = await findStoreOrders(deps.db, {
      storeId,
      statuses: status ? [status] : [...STORE_QUEUE_STATUSES],
      after: deps.cursors.decode(cursor, StoreQueueCursor),
      limit,
    });
    const result = deps.cursors.page(rows, limit, (o) => ({ created_at: o.cursor_created_at, id: o.id }));
    const tag = pageTag(result.items, result.next_cursor !== null);
    c.header('ETag', tag);
    if (hasTag(c, tag)) return c.body(null, 304);
    return c.json({ items: result.items.map(presentFulfilmentOrder), next_cursor: result.next_cursor }, 200);
  };

const DeliveriesCursor = z.object({ distance: z.number(), id: z.string().uuid() });

export const getDeliveries =
  (deps: Deps): RouteHandler<typeof listDeliveriesRoute, AppEnv> =>
  async (c) => {
    const { lat, lon, limit, cursor } = c.req.valid('query');
    if (!(await isRider(deps.db, c.var.userId))) throw new DomainError('forbidden', 'Only riders may look for deliveries.');
    const rows = await findReadyOrders(deps.db, {
      lat,
      lon,
      radiusM: c.req.valid('query').radius_m ?? DELIVERIES_DEFAULT_RADIUS_M,
      after: deps.cursors.decode(cursor, DeliveriesCursor),
      limit,
    });
    const result = deps.cursors.page(rows, limit, (row) => ({ distance: row.distance_m, id: row.id }));
    const stores = await findStores(deps.db, [...new Set(result.items.map((o) => o.store_id))]);
    return c.json(
      {
        // Not picked up yet: nobody's address.
        items: result.items.map((row) => presentDeliveryOffer(row, row.distance_m, row.trip_m)),
        included: { stores: stores.map(presentStore) },
        next_cursor: result.next_cursor,
      },
      200,
    );
  };

const MyDeliveriesCursor = z.object({ picked_up_at: z.string().datetime(), id: z.string().uuid() });

export const getMyDeliveries =
  (deps: Deps): RouteHandler<typeof listMyDeliveriesRoute, AppEnv> =>
  async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const rows = await findRiderOrders(deps.db, { riderId: c.var.userId, after: deps.cursors.decode(cursor, MyDeliveriesCursor), limit });
    const result = deps.cursors.page(rows, limit, (o) => ({ picked_up_at: o.cursor_picked_up_at, id: o.id }));
    return c.json({ items: result.items.map(presentFulfilmentOrder), next_cursor: result.next_cursor }, 200);
  };
