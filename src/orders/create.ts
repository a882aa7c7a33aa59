import { v7 as uuidv7 } from 'uuid';
import type { Tx } from '../db/database.js';
import type { SplitType } from '../db/schema.js';
import { cartLines, deleteCartItems } from '../cart/repository.js';
import { DomainError } from '../domain/errors.js';
import { meetsMinimum, shares } from '../domain/pricing.js';
import { findStore } from '../stores/repository.js';
import { findUser } from '../users/repository.js';
import { chargeShare } from './charge.js';
import { presentableItem, priceItems, type RequestedItem } from './items.js';
import { insertItems, insertOrder, type OrderWithItems } from './repository.js';

export interface CreateOrderInput {
  store_id: string;
  split_type: SplitType;
  items?: RequestedItem[];
  delivery?: { address: string; lat: number; lon: number };
}

/**
 * Opens a joint order and charges the creator's share, all in the caller's transaction. Items
 * default to the caller's cart for that store (emptied on success), delivery to the saved address.
 */
export async function createOrder(tx: Tx, userId: string, input: CreateOrderInput, ttlMinutes: number): Promise<OrderWithItems> {
  const store = await findStore(tx, input.store_id);
  if (!store) throw new DomainError('not_found', `No store ${input.store_id}.`);

  const fromCart = input.items === undefined;
  const requested = fromCart
    ? (await cartLines(tx, userId, store.id)).map((l) => ({ menu_id: l.menu_id, quantity: l.quantity }))
    : input.items!;
  if (requested.length === 0) {
    throw new DomainError('items_required', `Name items, or put this store's menus in your cart first.`);
  }
  const { items, total } = await priceItems(tx, store.id, requested);

  const amounts = { splitType: input.split_type, menuTotal: total, joinerMenuTotal: null, deliveryTip: store.delivery_tip };
  // A split order is complete at creation; a separate one is checked when the joiner adds theirs.
  if (input.split_type === 'split' && !meetsMinimum(amounts, store.min_order_price)) {
    throw new DomainError('minimum_order_not_met', `The menu total ${total} KRW is below the store's minimum of ${store.min_order_price} KRW.`);
  }

  let delivery = input.delivery;
  if (!delivery) {
    const user = await findUser(tx, userId);
    if (!user?.address || user.lat === null || user.lon === null) {
      throw new DomainError('delivery_address_missing', 'Give a delivery address, or save one with PUT /users/me/address.');
    }
    delivery = { address: user.address, lat: user.lat, lon: user.lon };
  }

  const order = await insertOrder(tx, {
    id: uuidv7(),
    storeId: store.id,
    creatorId: userId,
    splitType: input.split_type,
    menuTotal: total,
    deliveryTip: store.delivery_tip,
    delivery,
    ttlMinutes,
  });
  await insertItems(tx, order.id, userId, items);
  await chargeShare(tx, userId, order.id, shares(amounts).creator);
  if (fromCart) await deleteCartItems(tx, userId);
  return { ...order, items: items.map((i) => presentableItem(userId, i)) };
}
