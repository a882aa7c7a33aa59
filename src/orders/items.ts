import type { Tx } from '../db/database.js';
import type { Menu } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import { menuTotal } from '../domain/pricing.js';
import { findMenus } from '../stores/repository.js';

export interface RequestedItem {
  menu_id: string;
  quantity: number;
}

export interface PricedItem {
  menu_id: string;
  name: string;
  unit_price: number;
  quantity: number;
}

/** Prices requested items from the store's current menu; 422 if one is not on it. */
export async function priceItems(tx: Tx, storeId: string, requested: RequestedItem[]) {
  return priceFromMenus(
    storeId,
    requested,
    await findMenus(
      tx,
      requested.map((i) => i.menu_id),
    ),
  );
}

/** priceItems with the menus already read (`menus`: at least those requested that exist). */
export function priceFromMenus(storeId: string, requested: RequestedItem[], menus: Menu[]) {
  const byId = new Map(menus.map((m) => [m.id, m]));
  const items: PricedItem[] = requested.map((r) => {
    const menu = byId.get(r.menu_id);
    if (!menu || menu.store_id !== storeId) {
      throw new DomainError('menu_not_in_store', `Menu ${r.menu_id} is not on the menu of store ${storeId}.`);
    }
    return { menu_id: menu.id, name: menu.name, unit_price: menu.price, quantity: r.quantity };
  });
  return { items, total: menuTotal(items.map((i) => ({ unitPrice: i.unit_price, quantity: i.quantity }))) };
}

/** An item as an order shows it (the same field order as the items loaded from the database). */
export function presentableItem(userId: string, item: PricedItem) {
  return { user_id: userId, menu_id: item.menu_id, name: item.name, quantity: item.quantity, unit_price: item.unit_price };
}
