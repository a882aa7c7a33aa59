import { createRoute, z } from '@hono/zod-openapi';
import { MAX_ITEMS_PER_ORDER, MAX_QUANTITY, NEARBY_MAX_RADIUS_M } from '../domain/limits.js';
import {
  NextCursor, PaginationQuery, UuidParam, etagHeader, params, problems, replayHeaders, security,
} from '../http/openapi.js';
import { StoreSchema } from '../stores/routes.js';

const ItemInput = z
  .strictObject({
    menu_id: z.string().uuid(),
    quantity: z.number().int().min(1).max(MAX_QUANTITY).openapi({ example: 1 }),
  })
  .openapi('OrderItemInput');

const ItemsInput = z
  .array(ItemInput)
  .min(1)
  .max(MAX_ITEMS_PER_ORDER)
  .refine((items) => new Set(items.map((i) => i.menu_id)).size === items.length, 'each menu_id may appear once')
  .openapi({ description: 'Menus of the order\'s store, each once.' });

const DeliveryInput = z
  .strictObject({
    address: z.string().trim().min(1).max(300).openapi({ example: '전북 전주시 덕진구 백제대로 567' }),
    lat: z.number().min(-90).max(90).openapi({ example: 35.8468 }),
    lon: z.number().min(-180).max(180).openapi({ example: 127.1297 }),
  })
  .openapi('Delivery');

export const CreateOrderInput = z
  .strictObject({
    store_id: z.string().uuid(),
    split_type: z.enum(['split', 'separate']).openapi({
      description: '`split`: both eat the same menu, halves of menu and tip. `separate`: each pays their own items and half the tip.',
    }),
    items: ItemsInput.optional().openapi({ description: 'Defaults to your cart\'s items of this store (the cart is emptied on success).' }),
    delivery: DeliveryInput.optional().openapi({ description: 'Defaults to your saved address.' }),
  })
  .openapi('CreateOrderInput');

export const JoinOrderInput = z
  .strictObject({
    items: ItemsInput.optional().openapi({ description: 'Required for `separate` orders (your own items); not allowed for `split`.' }),
  })
  .openapi('JoinOrderInput');

export const OrderSchema = z
  .object({
    id: z.string().uuid(),
    store_id: z.string().uuid(),
    split_type: z.enum(['split', 'separate']),
    status: z.enum(['pending', 'matched', 'completed', 'cancelled', 'expired']).openapi({
      description: 'A pending order past `expires_at` is expired in effect (it cannot be joined) until the sweeper writes it.',
    }),
    version: z.number().int().openapi({ description: 'Bumped by every action; the ETag is derived from it.', example: 1 }),
    creator_id: z.string().uuid(),
    joiner_id: z.string().uuid().nullable(),
    created_at: z.string().datetime(),
    expires_at: z.string().datetime(),
    matched_at: z.string().datetime().nullable(),
    completed_at: z.string().datetime().nullable(),
    cancelled_at: z.string().datetime().nullable(),
    expired_at: z.string().datetime().nullable(),
    delivery: z.object({ address: z.string(), lat: z.number(), lon: z.number() }).openapi('DeliveryAddress'),
    items: z.array(
      z
        .object({
          user_id: z.string().uuid(),
          menu_id: z.string().uuid(),
          name: z.string().openapi({ example: '허니콤보' }),
          quantity: z.number().int().openapi({ example: 1 }),
          unit_price: z.number().int().openapi({ example: 23000 }),
        })
        .openapi('OrderItem'),
    ),
    menu_total: z.number().int().openapi({ description: 'All items of the order so far, KRW.', example: 23000 }),
    delivery_tip: z.number().int().openapi({ example: 3000 }),
    shares: z
      .object({
        creator: z.number().int().openapi({ example: 13000 }),
        joiner: z.number().int().nullable().openapi({ description: 'Null until a `separate` order is joined.', example: 13000 }),
      })
      .openapi('Shares', { description: 'What each side pays (paid at creation and at join); they add up to menu_total + delivery_tip once matched.' }),
  })
  .openapi('Order');

const NearbyOrderSchema = OrderSchema.extend({
  distance_m: z.number().openapi({ description: 'Great-circle distance from the query point, metres.', example: 84.2 }),
}).openapi('NearbyOrder');

const NearbyPageSchema = z
  .object({
    items: z.array(NearbyOrderSchema),
    included: z.object({ stores: z.array(StoreSchema) }).openapi('IncludedStores'),
    next_cursor: NextCursor,
  })
  .openapi('NearbyOrderPage');

const OrderPageSchema = z.object({ items: z.array(OrderSchema), next_cursor: NextCursor }).openapi('OrderPage');

const orderParam = UuidParam('orderId');
const orderResponse = (description: string) => ({
  description,
  headers: { ...etagHeader, ...replayHeaders },
  content: { 'application/json': { schema: OrderSchema } },
});

export const createOrderRoute = createRoute({
  method: 'post',
  path: '/orders',
  operationId: 'createOrder',
  tags: ['orders'],
  summary: 'Open a joint order',
  description:
    'Opens a joint order at a store and charges your share now (ledger row linked to the order). ' +
    'It waits for a neighbour to join until `expires_at` (30 minutes); if nobody does, it expires and you are refunded in full. ' +
    'A `split` order must reach the store\'s minimum by itself.',
  security,
  parameters: [params.idempotencyKeyRequired],
  request: { body: { required: true, content: { 'application/json': { schema: CreateOrderInput } } } },
  responses: {
    201: {
      description: 'Opened and paid.',
      headers: { ...etagHeader, Location: { $ref: '#/components/headers/Location' }, ...replayHeaders },
      content: { 'application/json': { schema: OrderSchema } },
    },
    ...problems(400, 401, 402, 404, 409, 413, 415, 422),
  },
});

export const getOrderRoute = createRoute({
  method: 'get',
  path: '/orders/{orderId}',
  operationId: 'getOrder',
  tags: ['orders'],
  summary: 'One order',
  description: 'The order with its ETag. Poll cheaply with If-None-Match: 304 while it is unchanged.',
  security,
  parameters: [params.ifNoneMatch],
  request: { params: orderParam },
  responses: {
    200: { description: 'The order.', headers: etagHeader, content: { 'application/json': { schema: OrderSchema } } },
    304: { description: 'Unchanged since the ETag in If-None-Match.', headers: etagHeader },
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
    'each with `distance_m`; their stores once under `included.stores`.',
  security,
  request: {
    query: PaginationQuery.extend({
      lat: z.coerce.number().min(-90).max(90).openapi({ example: 35.8468 }),
      lon: z.coerce.number().min(-180).max(180).openapi({ example: 127.1297 }),
      radius_m: z.coerce
        .number()
        .int()
        .min(1)
        .max(NEARBY_MAX_RADIUS_M)
        .optional()
        .openapi({ description: `Metres, default 300, max ${NEARBY_MAX_RADIUS_M}.`, example: 300 }),
      category: z.string().min(1).max(50).optional().openapi({ example: '치킨' }),
    }),
  },
  responses: {
    200: { description: 'A page of nearby orders.', content: { 'application/json': { schema: NearbyPageSchema } } },
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
      role: z.enum(['created', 'joined']).optional().openapi({ description: 'Only orders you created, or only those you joined.' }),
      status: z.enum(['pending', 'matched', 'completed', 'cancelled', 'expired']).optional(),
    }),
  },
  responses: {
    200: { description: 'A page of orders.', content: { 'application/json': { schema: OrderPageSchema } } },
    ...problems(400, 401),
  },
});

export const joinOrderRoute = createRoute({
  method: 'post',
  path: '/orders/{orderId}/join',
  operationId: 'joinOrder',
  tags: ['orders'],
  summary: 'Join an order',
  description:
    'Joins a pending, unexpired order of another user: it becomes matched and your share is charged. ' +
    'Send If-Match with the ETag you read; if someone else got there first you get 412 (with the current order) or 409.',
  security,
  parameters: [params.ifMatch, params.idempotencyKeyRequired],
  request: { params: orderParam, body: { required: false, content: { 'application/json': { schema: JoinOrderInput } } } },
  responses: { 200: orderResponse('Matched and paid.'), ...problems(400, 401, 402, 404, 409, 412, 413, 415, 422, 428) },
});

export const cancelOrderRoute = createRoute({
  method: 'post',
  path: '/orders/{orderId}/cancel',
  operationId: 'cancelOrder',
  tags: ['orders'],
  summary: 'Cancel your pending order',
  description: 'The creator withdraws a pending order and is refunded exactly what they paid.',
  security,
  parameters: [params.ifMatch, params.idempotencyKeyRequired],
  request: { params: orderParam },
  responses: { 200: orderResponse('Cancelled and refunded.'), ...problems(400, 401, 403, 404, 409, 412, 422, 428) },
});

export const expireOrderRoute = createRoute({
  method: 'post',
  path: '/orders/{orderId}/expire',
  operationId: 'expireOrder',
  tags: ['orders'],
  summary: 'Expire an overdue order',
  description: 'Anyone may expire a pending order once `expires_at` has passed (the sweeper does the same); the creator is refunded in full.',
  security,
  parameters: [params.ifMatch, params.idempotencyKeyOptional],
  request: { params: orderParam },
  responses: { 200: orderResponse('Expired and refunded.'), ...problems(400, 401, 404, 409, 412, 422, 428) },
});

export const completeOrderRoute = createRoute({
  method: 'post',
  path: '/orders/{orderId}/complete',
  operationId: 'completeOrder',
  tags: ['orders'],
  summary: 'Mark a matched order delivered',
  description: 'A participant (or the delivery sweeper) completes a matched order.',
  security,
  parameters: [params.ifMatch, params.idempotencyKeyOptional],
  request: { params: orderParam },
  responses: { 200: orderResponse('Completed.'), ...problems(400, 401, 403, 404, 409, 412, 422, 428) },
});
