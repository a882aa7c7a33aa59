import { defineOpenAPIRoute as route } from '@hono/zod-openapi';
import type { Deps } from '../http/deps.js';
import { getCategories, getMenus, getStore, getStoreLedger, getStores } from './handlers.js';
import { getStoreLedgerRoute, getStoreRoute, listCategoriesRoute, listMenusRoute, listStoresRoute } from './routes.js';

export const storeRoutes = (deps: Deps) => [
  route({ route: listCategoriesRoute, handler: getCategories(deps) }),
  route({ route: listStoresRoute, handler: getStores(deps) }),
  route({ route: getStoreRoute, handler: getStore(deps) }),
  route({ route: listMenusRoute, handler: getMenus(deps) }),
  route({ route: getStoreLedgerRoute, handler: getStoreLedger(deps) }),
];
