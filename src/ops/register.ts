import { defineOpenAPIRoute as route } from '@hono/zod-openapi';
import type { Deps } from '../http/deps.js';
import { getHealth, getMetrics, getReady } from './handlers.js';
import { healthRoute, metricsRoute, readyRoute } from './routes.js';

export const opsRoutes = (deps: Deps) => [
  route({ route: healthRoute, handler: getHealth() }),
  route({ route: readyRoute, handler: getReady(deps) }),
  route({ route: metricsRoute, handler: getMetrics(deps) }),
];
