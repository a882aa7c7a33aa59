import { defineOpenAPIRoute as route } from '@hono/zod-openapi';
import type { Deps } from '../http/deps.js';
import { createDevToken } from './handlers.js';
import { devTokenRoute } from './routes.js';

export const authRoutes = (deps: Deps) => [route({ route: devTokenRoute, handler: createDevToken(deps) })];
