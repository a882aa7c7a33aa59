import { createRoute, z } from '@hono/zod-openapi';
import { MAX_QUANTITY } from '../domain/limits.js';
import { UuidParam, problems, security } from '../http/openapi.js';

export const CartSchema = z
  .object({
    store_id: z.string().uuid().nullable().openapi({ description: 'The one store the cart holds items of; null when empty.' }),
    items: z.array(
      z
        .object({
          menu_id: z.string().uuid(),
          name: z.string().openapi({ example: '허니콤보' }),
          unit_price: z.number().int().openapi({ example: 23000 }),
          quantity: z.number().int().openapi({ example: 1 }),
          line_total: z.number().int().openapi({ example: 23000 }),
        })
        .openapi('CartItem'),
    ),
    menu_total: z.number().int().openapi({ example: 23000 }),
  })
  .openapi('Cart');

export const CartQuantityInput = z
  .strictObject({ quantity: z.number().int().min(1).max(MAX_QUANTITY).openapi({ example: 2 }) })
  .openapi('CartQuantityInput');

const cartResponse = { description: 'The cart.', content: { 'application/json': { schema: CartSchema } } };

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
    params: UuidParam('menuId'),
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
  request: { params: UuidParam('menuId') },
  responses: { 200: cartResponse, ...problems(400, 401) },
});

export const clearCartRoute = createRoute({
  method: 'delete',
  path: '/cart',
  operationId: 'clearCart',
  tags: ['cart'],
  summary: 'Empty the cart',
  description: 'Removes every item.',
  security,
  responses: { 204: { description: 'The cart is empty.' }, ...problems(401) },
});
