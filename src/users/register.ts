import { defineOpenAPIRoute as route } from '@hono/zod-openapi';
import type { Deps } from '../http/deps.js';
import { getLedger, getMe, putAddress } from './handlers.js';
import { getLedgerRoute, getMeRoute, putAddressRoute } from './routes.js';

export const userRoutes = (deps: Deps) => [
  route({ route: getMeRoute, handler: getMe(deps) }),
  route({ route: putAddressRoute, handler: putAddress(deps) }),
  route({ route: getLedgerRoute, handler: getLedger(deps) }),
];
