import { sql, type SqlBool } from 'kysely';
import type { Db } from '../db/database.js';
import { precompiled } from '../db/precompiled.js';
import type { Menu, Store } from '../db/schema.js';

export function listCategories(db: Db): Promise<{ name: string }[]> {
  return db.selectFrom('categories').select('name').orderBy('sort_order').orderBy('name').execute();
}

export function listStores(db: Db, filter: { category?: string; after?: { name: string; id: string }; limit: number }): Promise<Store[]> {
  let query = db.selectFrom('stores').selectAll();
  if (filter.category) query = query.where('category', '=', filter.category);
  if (filter.after) {
    const { name, id } = filter.after;
    query = query.where((eb) => eb.or([eb('name', '>', name), eb.and([eb('name', '=', name), eb('id', '>', id)])]));
  }
  return query
    .orderBy('name')
    .orderBy('id')
    .limit(filter.limit + 1)
    .execute();
}

export function findStore(db: Db, id: string): Promise<Store | undefined> {
  return db.selectFrom('stores').selectAll().where('id', '=', id).executeTakeFirst();
}

// = ANY(array), not IN (list): one statement text, prepared once, whatever the count; built and
// compiled once too (every nearby page sends it).
const findStoresStatement = precompiled((db, p: { ids: string[] }) =>
  db
    .selectFrom('stores')
    .selectAll()
    .where(sql<SqlBool>`id = ANY(${p.ids}::uuid[])`),
);

export function findStores(db: Db, ids: string[]): Promise<Store[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return findStoresStatement(db, { ids });
}

export function listMenus(db: Db, storeId: string): Promise<Menu[]> {
  return db.selectFrom('menus').selectAll().where('store_id', '=', storeId).orderBy('price').orderBy('name').execute();
}

export function findMenus(db: Db, ids: string[]): Promise<Menu[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('menus')
    .selectAll()
    .where(sql<SqlBool>`id = ANY(${ids}::uuid[])`)
    .execute();
}
