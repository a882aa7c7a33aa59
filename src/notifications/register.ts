import { defineOpenAPIRoute as route } from '@hono/zod-openapi';
import type { Deps } from '../http/deps.js';
import { listMine, markOneRead } from './handlers.js';
import { listNotificationsRoute, markNotificationReadRoute } from './routes.js';

export const notificationRoutes = (deps: Deps) => [
  route({ route: listNotificationsRoute, handler: listMine(deps) }),
  route({ route: markNotificationReadRoute, handler: markOneRead(deps) }),
];
