import { sql, type SqlBool } from 'kysely';
import type { Db, Tx } from '../db/database.js';
import { precompiled } from '../db/precompiled.js';
import type { Menu, Store, StoreLedgerEntry } from '../db/schema.js';

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

/**
 * Pays `amount` into a store's payout account (opened on its first payout) and writes its ledger
 * row, in one statement. The database refuses a second payout of one order, a payout of an order
 * that is not completed, and one that is not exactly what the order holds (migration 006).
 */
export async function payOut(tx: Tx, move: { storeId: string; orderId: string; amount: number }): Promise<StoreLedgerEntry> {
  const { rows } = await sql<StoreLedgerEntry>`
    WITH account AS (
      INSERT INTO store_accounts (store_id, balance) VALUES (${move.storeId}, ${move.amount})
      ON CONFLICT (store_id) DO UPDATE SET balance = store_accounts.balance + EXCLUDED.balance
      RETURNING store_id, balance)
    INSERT INTO store_ledger (store_id, kind, amount, balance_after, order_id)
    SELECT store_id, 'order_payout', ${move.amount}, balance, ${move.orderId} FROM account
    RETURNING *`.execute(tx);
  return rows[0];
}

/** A store's payout balance (0 before its first payout). */
export async function storeBalance(db: Db, storeId: string): Promise<number> {
  const row = await db.selectFrom('store_accounts').select('balance').where('store_id', '=', storeId).executeTakeFirst();
  return row?.balance ?? 0;
}

export function listStoreLedger(db: Db, storeId: string, beforeId: number | undefined, limit: number): Promise<StoreLedgerEntry[]> {
  let query = db.selectFrom('store_ledger').selectAll().where('store_id', '=', storeId);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return query
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute();
}
