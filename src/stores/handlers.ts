import type { RouteHandler } from '@hono/zod-openapi';
import { z } from '@hono/zod-openapi';
import type { Store } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import type { Deps } from '../http/deps.js';
import type { AppEnv } from '../http/env.js';
import { isStaffOf } from '../roles/repository.js';
import { presentMenu, presentStore, presentStoreLedgerEntry } from './present.js';
import { findStore, listCategories, listMenus, listStoreLedger, listStores, storeBalance } from './repository.js';
import type { getStoreLedgerRoute, getStoreRoute, listCategoriesRoute, listMenusRoute, listStoresRoute } from './routes.js';

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

const LedgerCursor = z.object({ id: z.number().int() });

export const getStoreLedger =
  (deps: Deps): RouteHandler<typeof getStoreLedgerRoute, AppEnv> =>
  async (c) => {
    const { storeId } = c.req.valid('param');
    const { limit, cursor } = c.req.valid('query');
    if (!(await isStaffOf(deps.db, c.var.userId, storeId)))
      throw new DomainError('forbidden', "Only the store's staff may see its payouts.");
    const after = deps.cursors.decode(cursor, LedgerCursor);
    const [rows, balance] = await Promise.all([listStoreLedger(deps.db, storeId, after?.id, limit), storeBalance(deps.db, storeId)]);
    const result = deps.cursors.page(rows, limit, (row) => ({ id: row.id }));
    return c.json({ balance, items: result.items.map(presentStoreLedgerEntry), next_cursor: result.next_cursor }, 200);
  };
