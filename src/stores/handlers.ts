import type { RouteHandler } from '@hono/zod-openapi';
import { z } from '@hono/zod-openapi';
import type { Store } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import type { Deps } from '../http/deps.js';
import type { AppEnv } from '../http/env.js';
import { presentMenu, presentStore } from './present.js';
import { findStore, listCategories, listMenus, listStores } from './repository.js';
import type { getStoreRoute, listCategoriesRoute, listMenusRoute, listStoresRoute } from './routes.js';

const StoreCursor = z.object({ name: z.string(), id: z.string().uuid() });

export const getCategories =
  (deps: Deps): RouteHandler<typeof listCategoriesRoute, AppEnv> =>
  async (c) =>
    c.json({ items: await listCategories(deps.db) }, 200);

export const getStores =
  (deps: Deps): RouteHandler<typeof listStoresRoute, AppEnv> =>
  async (c) => {
    const { limit, cursor, category } = c.req.valid('query');
    const rows = await listStores(deps.db, { category, after: deps.cursors.decode(cursor, StoreCursor), limit });
    const result = deps.cursors.page(rows, limit, (s) => ({ name: s.name, id: s.id }));
    return c.json({ items: result.items.map(presentStore), next_cursor: result.next_cursor }, 200);
  };

async function requireStore(deps: Deps, storeId: string): Promise<Store> {
  const store = await findStore(deps.db, storeId);
  if (!store) throw new DomainError('not_found', `No store ${storeId}.`);
  return store;
}

export const getStore =
  (deps: Deps): RouteHandler<typeof getStoreRoute, AppEnv> =>
  async (c) =>
    c.json(presentStore(await requireStore(deps, c.req.valid('param').storeId)), 200);

export const getMenus =
  (deps: Deps): RouteHandler<typeof listMenusRoute, AppEnv> =>
  async (c) => {
    const store = await requireStore(deps, c.req.valid('param').storeId);
    return c.json({ items: (await listMenus(deps.db, store.id)).map(presentMenu) }, 200);
  };
