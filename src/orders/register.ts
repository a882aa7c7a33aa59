import { defineOpenAPIRoute as route } from '@hono/zod-openapi';
import type { Deps } from '../http/deps.js';
import { getMyOrders, getNearby, getOrder, postCancel, postComplete, postExpire, postJoin, postOrder } from './handlers.js';
import {
  cancelOrderRoute,
  completeOrderRoute,
  createOrderRoute,
  expireOrderRoute,
  getOrderRoute,
  joinOrderRoute,
  listMyOrdersRoute,
  listNearbyRoute,
} from './routes.js';

export const orderRoutes = (deps: Deps) => [
  route({ route: createOrderRoute, handler: postOrder(deps) }),
  route({ route: listNearbyRoute, handler: getNearby(deps) }),
  route({ route: getOrderRoute, handler: getOrder(deps) }),
  route({ route: joinOrderRoute, handler: postJoin(deps) }),
  route({ route: cancelOrderRoute, handler: postCancel(deps) }),
  route({ route: expireOrderRoute, handler: postExpire(deps) }),
  route({ route: completeOrderRoute, handler: postComplete(deps) }),
  route({ route: listMyOrdersRoute, handler: getMyOrders(deps) }),
];
