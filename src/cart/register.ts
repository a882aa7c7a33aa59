import { defineOpenAPIRoute as route } from '@hono/zod-openapi';
import type { Deps } from '../http/deps.js';
import { clearCart, getCart, removeCartItem, setCartItem } from './handlers.js';
import { clearCartRoute, deleteCartItemRoute, getCartRoute, putCartItemRoute } from './routes.js';

export const cartRoutes = (deps: Deps) => [
  route({ route: getCartRoute, handler: getCart(deps) }),
  route({ route: putCartItemRoute, handler: setCartItem(deps) }),
  route({ route: deleteCartItemRoute, handler: removeCartItem(deps) }),
  route({ route: clearCartRoute, handler: clearCart(deps) }),
];
