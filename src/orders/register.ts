import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../http/deps.js';
import type { AppEnv } from '../http/env.js';
import { getMyOrders, getNearby, getOrder, postCancel, postComplete, postExpire, postJoin, postOrder } from './handlers.js';
import {
  cancelOrderRoute, completeOrderRoute, createOrderRoute, expireOrderRoute, getOrderRoute, joinOrderRoute,
  listMyOrdersRoute, listNearbyRoute,
} from './routes.js';

export function registerOrderRoutes(app: OpenAPIHono<AppEnv>, deps: Deps): void {
  app.openapi(createOrderRoute, postOrder(deps));
  app.openapi(listNearbyRoute, getNearby(deps));
  app.openapi(getOrderRoute, getOrder(deps));
  app.openapi(joinOrderRoute, postJoin(deps));
  app.openapi(cancelOrderRoute, postCancel(deps));
  app.openapi(expireOrderRoute, postExpire(deps));
  app.openapi(completeOrderRoute, postComplete(deps));
  app.openapi(listMyOrdersRoute, getMyOrders(deps));
}
