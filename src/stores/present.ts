import type { Menu, Store, StoreLedgerEntry } from '../db/schema.js';

export function presentStore(store: Store) {
  return {
    id: store.id,
    name: store.name,
    category: store.category,
    address: store.address,
    lat: store.lat,
    lon: store.lon,
    min_order_price: store.min_order_price,
    delivery_tip: store.delivery_tip,
    delivery_minutes: store.delivery_minutes,
  };
}

export const presentMenu = (menu: Menu) => ({ id: menu.id, store_id: menu.store_id, name: menu.name, price: menu.price });

export function presentStoreLedgerEntry(entry: StoreLedgerEntry) {
  return {
    id: entry.id,
    kind: entry.kind,
    amount: entry.amount,
    balance_after: entry.balance_after,
    order_id: entry.order_id,
    created_at: entry.created_at.toISOString(),
  };
}
