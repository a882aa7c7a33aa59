import type { Db, Tx } from '../db/database.js';

export interface CartLine {
  menu_id: string;
  store_id: string;
  name: string;
  price: number;
  quantity: number;
}

export function cartLines(db: Db | Tx, userId: string, storeId?: string): Promise<CartLine[]> {
  let query = db
    .selectFrom('cart_items as c')
    .innerJoin('menus as m', 'm.id', 'c.menu_id')
    .select(['c.menu_id', 'c.store_id', 'm.name', 'm.price', 'c.quantity'])
    .where('c.user_id', '=', userId);
  if (storeId) query = query.where('c.store_id', '=', storeId);
  return query.orderBy('c.updated_at').orderBy('c.menu_id').execute();
}

/**
 * Serialises changes to one user's cart (the one-store rule spans rows). FOR NO KEY UPDATE: two
 * cart changes still wait for each other, but other transactions' foreign-key checks on the user
 * (their ledger rows, notifications, orders) do not wait for the cart.
 */
export async function lockCart(tx: Tx, userId: string): Promise<boolean> {
  const row = await tx.selectFrom('users').select('id').where('id', '=', userId).forNoKeyUpdate().executeTakeFirst();
  return row !== undefined;
}

export async function cartStoreOtherThan(tx: Tx, userId: string, storeId: string): Promise<string | undefined> {
  const row = await tx
    .selectFrom('cart_items')
    .select('store_id')
    .where('user_id', '=', userId)
    .where('store_id', '<>', storeId)
    .limit(1)
    .executeTakeFirst();
  return row?.store_id;
}

export async function putCartItem(tx: Tx, item: { userId: string; menuId: string; storeId: string; quantity: number }) {
  await tx
    .insertInto('cart_items')
    .values({ user_id: item.userId, menu_id: item.menuId, store_id: item.storeId, quantity: item.quantity })
    .onConflict((oc) => oc.columns(['user_id', 'menu_id']).doUpdateSet({ quantity: item.quantity, updated_at: new Date() }))
    .execute();
}

export async function deleteCartItems(db: Db | Tx, userId: string, menuId?: string): Promise<void> {
  let query = db.deleteFrom('cart_items').where('user_id', '=', userId);
  if (menuId) query = query.where('menu_id', '=', menuId);
  await query.execute();
}
