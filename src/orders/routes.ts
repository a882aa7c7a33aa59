import { createRoute, z } from '@hono/zod-openapi';
import { DEFAULTS } from '../config.js';
import { ORDER_STATUSES, SPLIT_TYPES } from '../domain/kinds.js';
import { TRANSITIONS, type OrderAction } from '../domain/order-state.js';
import {
  DELIVERIES_DEFAULT_RADIUS_M,
  DELIVERIES_MAX_RADIUS_M,
  MAX_ITEMS_PER_ORDER,
  MAX_QUANTITY,
  NEARBY_MAX_RADIUS_M,
} from '../domain/limits.js';
import {
  NextCursor,
  PaginationQuery,
  UuidParam,
  actionProblems,
  decimalInteger,
  decimalNumber,
  dateTime,
  headers,
  jsonResponse,
  notModifiedResponse,
  pageNotModifiedResponse,
  params,
  problems,
  security,
  uuid,
  withCodes,
} from '../http/openapi.js';
import { StoreSchema } from '../stores/routes.js';
import { AddressInput } from '../users/routes.js';

const STORE_ID_EXAMPLE = '0d7e2b1a-3c4f-4a5b-8c6d-7e8f9a0b1c2d';
const MENU_ID_EXAMPLE = '9a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';
const CREATOR_ID_EXAMPLE = '3b8f0c52-7d4e-4f1a-9c2b-5e6d7f8a9b0c';
const JOINER_ID_EXAMPLE = 'c4d5e6f7-0a1b-4c2d-9e3f-4a5b6c7d8e9f';

export const SplitTypeSchema = z.enum(SPLIT_TYPES).openapi('SplitType', {
  description: '`split`: both eat the same menu, halves of menu and tip. `separate`: each pays their own items and half the tip.',
  example: 'split',
});

export const OrderStatusSchema = z.enum(ORDER_STATUSES).openapi('OrderStatus', {
  description:
    `The transitions, and nothing else: ${TRANSITIONS.map((t) => `\`${t.from} → ${t.to}\` (${t.action})`).join(', ')}. ` +
    'A pending order past `expires_at` is expired in effect (it cannot be joined) until the sweeper writes it.',
  example: 'pending',
});

const ItemInput = z
  .strictObject({
    menu_id: uuid(MENU_ID_EXAMPLE),
    quantity: z.number().int().min(1).max(MAX_QUANTITY).openapi({ example: 1 }),
  })
  .openapi('OrderItemInput', { description: "A menu of the order's store and how many." });

const ItemsInput = z
  .array(ItemInput)
  .min(1)
  .max(MAX_ITEMS_PER_ORDER)
  .refine((items) => new Set(items.map((i) => i.menu_id)).size === items.length, 'each menu_id may appear once')
  .openapi({ description: "Menus of the order's store, each once." });

export const CreateOrderInput = z
  .strictObject({
    store_id: uuid(STORE_ID_EXAMPLE),
    split_type: SplitTypeSchema,
    items: ItemsInput.optional().openapi({ description: "Defaults to your cart's items of this store (the cart is emptied on success)." }),
    delivery: AddressInput.optional().openapi({ description: 'Defaults to your saved address.' }),
  })
  .openapi('CreateOrderInput', {
    description: 'What to order and where to deliver it. Without `items` the cart is used; without `delivery`, your saved address.',
  });

export const JoinOrderInput = z
  .strictObject({
    items: ItemsInput.optional().openapi({ description: 'Required for `separate` orders (your own items); not allowed for `split`.' }),
  })
  .openapi('JoinOrderInput', { description: 'Your own items for a `separate` order; an empty body (or `{}`) for a `split` one.' });

const OrderItemFields = {
  menu_id: uuid(MENU_ID_EXAMPLE),
  name: z.string().openapi({ example: '허니콤보' }),
  quantity: z.number().int().openapi({ example: 1 }),
  unit_price: z.number().int().openapi({ example: 23000 }),
};

// What every view of an order shows; each view adds its own below.
const OrderFields = {
  id: uuid(),
  store_id: uuid(STORE_ID_EXAMPLE),
  split_type: SplitTypeSchema,
  status: OrderStatusSchema,
  version: z.number().int().openapi({ description: 'Bumped by every action; the ETag is derived from it.', example: 1 }),
  created_at: dateTime('2025-05-01T12:00:00.000Z'),
  expires_at: dateTime('2025-05-01T12:30:00.000Z'),
  matched_at: dateTime('2025-05-01T12:07:00.000Z').nullable(),
  accept_by: dateTime('2025-05-01T12:17:00.000Z')
    .nullable()
    .openapi({ description: 'Set at the match: the store accepts by then, or the order is rejected (both refunded).' }),
  accepted_at: dateTime('2025-05-01T12:09:00.000Z').nullable(),
  ready_at: dateTime('2025-05-01T12:30:00.000Z').nullable(),
  picked_up_at: dateTime('2025-05-01T12:34:00.000Z').nullable(),
  completed_at: dateTime('2025-05-01T12:45:00.000Z').nullable(),
  cancelled_at: dateTime('2025-05-01T12:10:00.000Z').nullable(),
  expired_at: dateTime('2025-05-01T12:30:05.000Z').nullable(),
  rejected_at: dateTime('2025-05-01T12:12:00.000Z').nullable(),
  menu_total: z.number().int().openapi({ description: 'All items of the order so far, KRW.', example: 23000 }),
  delivery_tip: z.number().int().openapi({ description: "KRW, the store's tip when the order was opened.", example: 3000 }),
  shares: z
    .object({
      creator: z.number().int().openapi({ example: 13000 }),
      joiner: z.number().int().nullable().openapi({ description: 'Null until a `separate` order is joined.', example: 13000 }),
    })
    .openapi('Shares', {
      description: 'What each side pays (paid at creation and at join); they add up to menu_total + delivery_tip once matched.',
    }),
};

export const OrderSchema = z
  .object({
    view: z.literal('participant').openapi({ description: 'You take part in this order: you see all of it.', example: 'participant' }),
    ...OrderFields,
    creator_id: uuid(CREATOR_ID_EXAMPLE),
    joiner_id: uuid(JOINER_ID_EXAMPLE).nullable().openapi({ description: 'Null until someone joins.' }),
    delivery: z
      .object({
        address: z.string().openapi({ example: '전북 전주시 덕진구 백제대로 567' }),
        lat: z.number().openapi({ example: 35.8468 }),
        lon: z.number().openapi({ example: 127.1297 }),
      })
      .openapi('DeliveryAddress', { description: "Where the order is delivered (the creator's address)." }),
    items: z.array(
      z
        .object({
          user_id: uuid(CREATOR_ID_EXAMPLE).openapi({ description: 'Who ordered this item (creator or joiner).' }),
          ...OrderItemFields,
        })
        .openapi('OrderItem', { description: 'One line of the order: a menu, how many, and its price when ordered.' }),
    ),
  })
  .openapi('Order', {
    description:
      'A joint order as its creator and joiner see it: its state, where it goes, the items of both participants and what each pays.',
  });

const distanceM = (description: string) => z.number().int().multipleOf(10).openapi({ description, multipleOf: 10, example: 80 });

export const PublicOrderSchema = z
  .object({
    view: z
      .literal('public')
      .openapi({ description: 'You do not take part in this order: you see what any neighbour may.', example: 'public' }),
    ...OrderFields,
    items: z.array(z.object(OrderItemFields).openapi('PublicOrderItem')),
    distance_m: distanceM(
      'Great-circle distance from your saved address to the delivery point, rounded to the nearest 10 m; null if you have no saved address.',
    ).nullable(),
  })
  .openapi('PublicOrder', {
    description:
      'An order as anyone but its participants sees it: no delivery address, no exact point, no user id; only how far it is, to 10 m.',
  });

const PublicOrderItemSchema = z
  .object(OrderItemFields)
  .openapi('PublicOrderItem', { description: 'One line of the order, without who ordered it.' });

export const FulfilmentOrderSchema = z
  .object({
    view: z.literal('fulfilment').openapi({
      description: "You prepare or deliver this order: the store's staff, or the rider who picked it up.",
      example: 'fulfilment',
    }),
    ...OrderFields,
    delivery: OrderSchema.shape.delivery,
    items: z.array(PublicOrderItemSchema),
  })
  .openapi('FulfilmentOrder', {
    description: "An order as its store's staff and the rider who picked it up see it: where it goes and what is in it; no user id.",
  });

const OrderViewSchema = z.discriminatedUnion('view', [OrderSchema, FulfilmentOrderSchema, PublicOrderSchema]).openapi('OrderView', {
  description:
    'An order as you may see it, told apart by `view`: all of it if you created or joined it; the fulfilment view if you are ' +
    'staff of its store or the rider who picked it up; else the public view.',
});

const NearbyOrderSchema = PublicOrderSchema.extend({
  distance_m: distanceM('Great-circle distance from the query point to the delivery point, rounded to the nearest 10 m.'),
}).openapi('NearbyOrder', { description: 'An order you could join (public view), with how far it is from you.' });

const NearbyPageSchema = z
  .object({
    items: z.array(NearbyOrderSchema),
    included: z
      .object({ stores: z.array(StoreSchema) })
      .openapi('IncludedStores', { description: 'The stores of the orders on this page, each once.' }),
    next_cursor: NextCursor,
  })
  .openapi('NearbyOrderPage', { description: 'A page of joinable orders, nearest first, with their stores side-loaded.' });

const OrderPageSchema = z
  .object({ items: z.array(OrderSchema), next_cursor: NextCursor })
  .openapi('OrderPage', { description: 'A page of orders, newest first.' });

const orderParam = UuidParam('orderId', "The order's id.");
/** An action's answer: the order's new state and its ETag (or, with Idempotent-Replayed, the stored answer). */
const orderResponse = <S extends z.ZodType>(description: string, schema: S) =>
  jsonResponse(description, schema, { ...headers.etag, ...headers.replayed });

export const createOrderRoute = createRoute({
  method: 'post',
  path: '/orders',
  operationId: 'createOrder',
  tags: ['orders'],
  summary: 'Open a joint order',
  description:
    'Opens a joint order at a store and charges your share now (ledger row linked to the order). ' +
    `It waits for a neighbour to join until \`expires_at\` (${DEFAULTS.ORDER_TTL_MINUTES} minutes by default); if nobody does, it expires and you are refunded in full. ` +
    "A `split` order must reach the store's minimum by itself.\n\n" +
    `Quotas (server settings): you may have at most ${DEFAULTS.MAX_OPEN_ORDERS} open orders by default (\`MAX_OPEN_ORDERS\`): ` +
    'orders you created that are pending and not yet past `expires_at`; one more is 409 `too_many_open_orders`. ' +
    "The delivery point must be within the store's delivery radius (the great-circle distance from the store), " +
    `the store's own or ${DEFAULTS.DELIVERY_RADIUS_M} m by default (\`DELIVERY_RADIUS_M\`): farther is 422 \`outside_delivery_area\`. ` +
    'Both are checked in the transaction that opens the order, so concurrent creates cannot pass them together; ' +
    'a refusal changes nothing and is stored under the Idempotency-Key like any other answer.',
  security,
  parameters: [params.idempotencyKeyRequired],
  request: { body: { required: true, content: { 'application/json': { schema: CreateOrderInput } } } },
  responses: {
    201: jsonResponse('Opened and paid.', OrderSchema, { ...headers.etag, ...headers.location, ...headers.replayed }),
    ...withCodes(actionProblems(400, 401, 402, 404, 409, 413, 415, 422), {
      409: `\`too_many_open_orders\`: you already have as many open orders as you may (${DEFAULTS.MAX_OPEN_ORDERS} by default).`,
      422: "`outside_delivery_area`: the delivery point is beyond the store's delivery radius; also `minimum_order_not_met`, `menu_not_in_store`, `items_required`, `delivery_address_missing`.",
    }),
  },
});

export const getOrderRoute = createRoute({
  method: 'get',
  path: '/orders/{orderId}',
  operationId: 'getOrder',
  tags: ['orders'],
  summary: 'One order',
  description:
    'The order with its ETag: all of it (`view: participant`) if you created or joined it, else the public view ' +
    '(`view: public`: no delivery address, exact point or user id; its distance from your saved address, to 10 m). ' +
    'Poll cheaply with If-None-Match: 304 while it is unchanged.',
  security,
  parameters: [params.ifNoneMatch],
  request: { params: orderParam },
  responses: {
    200: jsonResponse('The order, as you may see it.', OrderViewSchema, headers.etag),
    304: notModifiedResponse,
    ...problems(400, 401, 404),
  },
});

export const listNearbyRoute = createRoute({
  method: 'get',
  path: '/orders',
  operationId: 'listNearbyOrders',
  tags: ['orders'],
  summary: 'Joinable orders nearby',
  description:
    'Pending, unexpired orders of other users whose delivery point is within `radius_m` of (lat, lon), nearest first, ' +
    'each in its public view with `distance_m` (to 10 m); their stores once under `included.stores`.',
  security,
  request: {
    query: PaginationQuery.extend({
      lat: decimalNumber(z.number().min(-90).max(90)).openapi({ description: 'Latitude of where you are (WGS 84).', example: 35.8468 }),
      lon: decimalNumber(z.number().min(-180).max(180)).openapi({ description: 'Longitude of where you are (WGS 84).', example: 127.1297 }),
      radius_m: decimalInteger(z.number().int().min(1).max(NEARBY_MAX_RADIUS_M).optional()).openapi({
        description: `Metres, default ${DEFAULTS.NEARBY_DEFAULT_RADIUS_M}, max ${NEARBY_MAX_RADIUS_M}.`,
        example: 300,
      }),
      category: z.string().min(1).max(50).optional().openapi({ description: 'Only orders at stores of this category.', example: '치킨' }),
    }),
  },
  responses: {
    200: jsonResponse('A page of nearby orders.', NearbyPageSchema),
    ...problems(400, 401),
  },
});

export const listMyOrdersRoute = createRoute({
  method: 'get',
  path: '/users/me/orders',
  operationId: 'listMyOrders',
  tags: ['orders'],
  summary: 'Your orders',
  description: 'Orders you created or joined, newest first.',
  security,
  request: {
    query: PaginationQuery.extend({
      role: z
        .enum(['created', 'joined'])
        .optional()
        .openapi({ description: 'Only orders you created, or only those you joined.', example: 'created' }),
      status: OrderStatusSchema.optional(),
    }),
  },
  responses: {
    200: jsonResponse('A page of orders.', OrderPageSchema),
    ...problems(400, 401),
  },
});

/**
 * The contract of an order action: POST /orders/{orderId}/<action> with If-Match, an
 * Idempotency-Key required or optional, its answer, and the problems every action may answer
 * (400, 401, 404, 409, 412, 413, 415, 422, 428) plus its own.
 */
function actionRoute<A extends OrderAction, P extends string, S extends z.ZodType, B extends object = object>(spec: {
  action: A;
  /** The endpoint's last segment (actionPath of the action). */
  path: P;
  summary: string;
  description: string;
  key: 'required' | 'optional';
  answer: { description: string; schema: S };
  alsoAnswers?: number[];
  request?: B;
}) {
  return createRoute({
    method: 'post',
    path: `/orders/{orderId}/${spec.path}` as `/orders/{orderId}/${P}`,
    operationId: `${spec.action.replace(/_(.)/g, (_, c: string) => c.toUpperCase())}Order`,
    tags: ['orders'],
    summary: spec.summary,
    description: spec.description,
    security,
    parameters: [params.ifMatch, spec.key === 'required' ? params.idempotencyKeyRequired : params.idempotencyKeyOptional],
    request: { params: orderParam, ...(spec.request as B) },
    responses: {
      200: orderResponse(spec.answer.description, spec.answer.schema),
      ...actionProblems(400, 401, 404, 409, 412, 413, 415, 422, 428, ...(spec.alsoAnswers ?? [])),
    },
  });
}

export const joinOrderRoute = actionRoute({
  action: 'join',
  path: 'join',
  summary: 'Join an order',
  description:
    'Joins a pending, unexpired order of another user: it becomes matched and your share is charged. ' +
    'Send If-Match with the ETag you read; if someone else got there first you get 412 (with the current order) or 409.',
  key: 'required',
  answer: { description: 'Matched and paid.', schema: OrderSchema },
  alsoAnswers: [402],
  request: { body: { required: false, content: { 'application/json': { schema: JoinOrderInput } } } },
});

export const cancelOrderRoute = actionRoute({
  action: 'cancel',
  path: 'cancel',
  summary: 'Cancel an order before the store accepts it',
  description:
    'The creator withdraws a pending order and is refunded exactly what they paid; either participant withdraws a matched ' +
    'order until the store accepts it, and both are refunded exactly what they paid. Later: 409 `order_not_cancellable`.',
  key: 'required',
  answer: { description: 'Cancelled and refunded.', schema: OrderSchema },
  alsoAnswers: [403],
});

export const expireOrderRoute = actionRoute({
  action: 'expire',
  path: 'expire',
  summary: 'Expire an overdue order',
  description:
    'Anyone may expire a pending order once `expires_at` has passed (the sweeper does the same); the creator is refunded in full. ' +
    'The answer is the order as you may see it (the public view unless you created it).',
  key: 'optional',
  answer: { description: 'Expired and refunded.', schema: OrderViewSchema },
});

const staffOnly = "Only the store's staff may (403 otherwise).";

export const acceptOrderRoute = actionRoute({
  action: 'accept',
  path: 'accept',
  summary: 'The store accepts a matched order',
  description:
    `The store takes the order and starts preparing it; from then on it cannot be cancelled. ${staffOnly} ` +
    `It must answer by \`accept_by\` (${DEFAULTS.STORE_ACCEPT_MINUTES} minutes after the match by default): after that, 409 ` +
    '`accept_deadline_passed`, and the sweeper rejects the order with both refunds.',
  key: 'optional',
  answer: { description: 'Accepted.', schema: FulfilmentOrderSchema },
  alsoAnswers: [403],
});

export const rejectOrderRoute = actionRoute({
  action: 'reject',
  path: 'reject',
  summary: 'The store turns a matched order down',
  description: `Both participants are refunded in full, in the same transaction. ${staffOnly}`,
  key: 'required',
  answer: { description: 'Rejected and refunded.', schema: FulfilmentOrderSchema },
  alsoAnswers: [403],
});

export const readyOrderRoute = actionRoute({
  action: 'ready',
  path: 'ready',
  summary: 'The store marks an accepted order ready for pick-up',
  description: `Riders see it under GET /deliveries from now on. ${staffOnly}`,
  key: 'optional',
  answer: { description: 'Ready.', schema: FulfilmentOrderSchema },
  alsoAnswers: [403],
});

export const pickUpOrderRoute = actionRoute({
  action: 'pick_up',
  path: 'pick-up',
  summary: 'A rider picks up a ready order',
  description:
    "Any rider (403 for others); the first one wins and becomes the order's rider: the others get 412 (with the order as they " +
    'may see it) or 409. The answer shows the delivery address.',
  key: 'optional',
  answer: { description: 'Picked up: it is yours to deliver.', schema: FulfilmentOrderSchema },
  alsoAnswers: [403],
});

export const deliverOrderRoute = actionRoute({
  action: 'deliver',
  path: 'deliver',
  summary: 'The rider delivers the order',
  description:
    'Only the rider who picked it up (403 for others). The order is completed and everything it held (menu total + tip) is ' +
    "paid into the store's payout account in the same transaction, exactly once.",
  key: 'required',
  answer: { description: 'Delivered: completed, the store paid.', schema: FulfilmentOrderSchema },
  alsoAnswers: [403],
});

const storeParam = UuidParam('storeId', "The store's id.");

const FulfilmentPageSchema = z
  .object({ items: z.array(FulfilmentOrderSchema), next_cursor: NextCursor })
  .openapi('FulfilmentOrderPage', { description: 'A page of orders in their fulfilment view.' });

/** What a store works on: matched to picked up. */
export const STORE_QUEUE_STATUSES = ['matched', 'accepted', 'ready', 'picked_up'] as const;

export const listStoreOrdersRoute = createRoute({
  method: 'get',
  path: '/stores/{storeId}/orders',
  operationId: 'listStoreOrders',
  tags: ['store staff'],
  summary: "The store's queue",
  description:
    `The store's orders, oldest first: by default those it works on (${STORE_QUEUE_STATUSES.join(', ')}), or those in \`status\`. ` +
    `${staffOnly} The page carries an ETag: poll with If-None-Match and get 304 while nothing on it changed.`,
  security,
  parameters: [params.ifNoneMatch],
  request: { params: storeParam, query: PaginationQuery.extend({ status: OrderStatusSchema.optional() }) },
  responses: {
    200: jsonResponse('A page of the queue.', FulfilmentPageSchema, headers.pageEtag),
    304: pageNotModifiedResponse,
    ...problems(400, 401, 403),
  },
});

const DeliveryOrderSchema = PublicOrderSchema.extend({
  distance_m: distanceM("Great-circle distance from the query point to the order's store, rounded to the nearest 10 m."),
  trip_m: z.number().int().multipleOf(100).openapi({
    description: 'How far the delivery point is from the store, rounded to the nearest 100 m: the length of the ride, not where it ends.',
    multipleOf: 100,
    example: 1200,
  }),
}).openapi('DeliveryOffer', { description: 'A ready order a rider could pick up (public view: no delivery address until picked up).' });

export const listDeliveriesRoute = createRoute({
  method: 'get',
  path: '/deliveries',
  operationId: 'listDeliveries',
  tags: ['riders'],
  summary: 'Orders ready for pick-up near you',
  description:
    'Ready orders whose store is within `radius_m` of (lat, lon), nearest store first, in the public view (the delivery address ' +
    'shows once you pick one up); their stores once under `included.stores`. Riders only (403 otherwise).',
  security,
  request: {
    query: PaginationQuery.extend({
      lat: decimalNumber(z.number().min(-90).max(90)).openapi({ description: 'Latitude of where you are (WGS 84).', example: 35.8468 }),
      lon: decimalNumber(z.number().min(-180).max(180)).openapi({ description: 'Longitude of where you are (WGS 84).', example: 127.1297 }),
      radius_m: decimalInteger(z.number().int().min(1).max(DELIVERIES_MAX_RADIUS_M).optional()).openapi({
        description: `Metres, default ${DELIVERIES_DEFAULT_RADIUS_M}, max ${DELIVERIES_MAX_RADIUS_M}.`,
        example: DELIVERIES_DEFAULT_RADIUS_M,
      }),
    }),
  },
  responses: {
    200: jsonResponse(
      'A page of ready orders.',
      z
        .object({ items: z.array(DeliveryOrderSchema), included: NearbyPageSchema.shape.included, next_cursor: NextCursor })
        .openapi('DeliveryOfferPage', { description: 'A page of ready orders, nearest store first, with their stores side-loaded.' }),
    ),
    ...problems(400, 401, 403),
  },
});

export const listMyDeliveriesRoute = createRoute({
  method: 'get',
  path: '/users/me/deliveries',
  operationId: 'listMyDeliveries',
  tags: ['riders'],
  summary: 'Orders you picked up',
  description: 'Every order you picked up as a rider, latest pick-up first, with its delivery address.',
  security,
  request: { query: PaginationQuery },
  responses: {
    200: jsonResponse('A page of your deliveries.', FulfilmentPageSchema),
    ...problems(400, 401),
  },
});
