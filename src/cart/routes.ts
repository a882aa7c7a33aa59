import { createRoute, z } from '@hono/zod-openapi';
import { MAX_QUANTITY } from '../domain/limits.js';
import { UuidParam, emptyResponse, jsonResponse, problems, security, uuid } from '../http/openapi.js';

export const CartSchema = z
  .object({
    store_id: uuid('0d7e2b1a-3c4f-4a5b-8c6d-7e8f9a0b1c2d')
      .nullable()
      .openapi({ description: 'The one store the cart holds items of; null when empty.' }),
    items: z.array(
      z
        .object({
          menu_id: uuid('9a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d'),
          name: z.string().openapi({ example: '허니콤보' }),
          unit_price: z.number().int().openapi({ example: 23000 }),
          quantity: z.number().int().openapi({ example: 1 }),
          line_total: z.number().int().openapi({ example: 23000 }),
        })
        .openapi('CartItem', { description: 'A menu in the cart with its quantity.' }),
    ),
    menu_total: z.number().int().openapi({ description: 'KRW.', example: 23000 }),
  })
  .openapi('Cart', { description: 'Items of one store, to order from.' });

export const CartQuantityInput = z
  .strictObject({ quantity: z.number().int().min(1).max(MAX_QUANTITY).openapi({ example: 2 }) })
  .openapi('CartQuantityInput', { description: 'How many of the menu the cart should hold.' });

const cartResponse = jsonResponse('The cart.', CartSchema);

export const getCartRoute = createRoute({
  method: 'get',
  path: '/cart',
  operationId: 'getCart',
  tags: ['cart'],
  summary: 'The cart',
  description: "The caller's cart: items of one store. POST /orders uses it when it names no items.",
  security,
  responses: { 200: cartResponse, ...problems(401) },
});

export const putCartItemRoute = createRoute({
  method: 'put',
  path: '/cart/items/{menuId}',
  operationId: 'putCartItem',
  tags: ['cart'],
  summary: 'Set the quantity of a menu in the cart',
  description: 'Adds the menu or sets its quantity. A cart holds one store: a menu of another store → 409.',
  security,
  request: {
    params: UuidParam('menuId', 'A menu id (see GET /stores/{storeId}/menus).'),
    body: { required: true, content: { 'application/json': { schema: CartQuantityInput } } },
  },
  responses: { 200: cartResponse, ...problems(400, 401, 404, 409, 413, 415) },
});

export const deleteCartItemRoute = createRoute({
  method: 'delete',
  path: '/cart/items/{menuId}',
  operationId: 'deleteCartItem',
  tags: ['cart'],
  summary: 'Remove a menu from the cart',
  description: 'Removes the menu; removing one that is not in the cart changes nothing.',
  security,
  request: { params: UuidParam('menuId', 'A menu id.') },
  responses: { 200: cartResponse, ...problems(400, 401, 409) },
});

export const clearCartRoute = createRoute({
  method: 'delete',
  path: '/cart',
  operationId: 'clearCart',
  tags: ['cart'],
  summary: 'Empty the cart',
  description: 'Removes every item.',
  security,
  responses: { 204: emptyResponse('The cart is empty.'), ...problems(401, 409) },
});
