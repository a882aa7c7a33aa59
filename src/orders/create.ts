import { v7 as uuidv7 } from 'uuid';
import type { Tx } from '../db/database.js';
import type { SplitType } from '../db/schema.js';
import { cartLines, deleteCartItems } from '../cart/repository.js';
import { DomainError } from '../domain/errors.js';
import { meetsMinimum, shares } from '../domain/pricing.js';
import { insufficientCredit } from './charge.js';
import { presentableItem, priceFromMenus, type RequestedItem } from './items.js';
import { insertOrderCharged, loadCreateFacts, type OrderWithItems } from './repository.js';

export interface CreateOrderInput {
  store_id: string;
  split_type: SplitType;
  items?: RequestedItem[];
  delivery?: { address: string; lat: number; lon: number };
}

/** The quotas a create is held to (src/config.ts). */
export interface CreateQuotas {
  /** Open (pending, unexpired) orders a user may have created; this one would be one more. */
  maxOpenOrders: number;
  /** Metres from the store to the delivery point, for a store whose row sets none. */
  deliveryRadiusM: number;
}

/**
 * Opens a joint order and charges the creator's share, all in the caller's transaction. Items
 * default to the caller's cart for that store (emptied on success), delivery to the saved address.
 * Two statements: one reads the store, the menus, the saved address and the delivery distance
 * (locking the creator's row); one counts the creator's open orders and, below the quota, inserts
 * the order with its items and the charge.
 */
export async function createOrder(
  tx: Tx,
  userId: string,
  input: CreateOrderInput,
  ttlMinutes: number,
  quotas: CreateQuotas,
): Promise<OrderWithItems> {
  const fromCart = input.items === undefined;
  const requested = fromCart
    ? (await cartLines(tx, userId, input.store_id)).map((l) => ({ menu_id: l.menu_id, quantity: l.quantity }))
    : input.items!;
  const { store, menus, saved, deliveryDistanceM } = await loadCreateFacts(tx, {
    userId,
    storeId: input.store_id,
    menuIds: requested.map((i) => i.menu_id),
    delivery: input.delivery,
  });
  if (!store) throw new DomainError('not_found', `No store ${input.store_id}.`);
  if (requested.length === 0) {
    throw new DomainError('items_required', `Name items, or put this store's menus in your cart first.`);
  }
  const { items, total } = priceFromMenus(store.id, requested, menus);

  const amounts = { splitType: input.split_type, menuTotal: total, joinerMenuTotal: null, deliveryTip: store.delivery_tip };
  // A split order is complete at creation; a separate one is checked when the joiner adds theirs.
  if (input.split_type === 'split' && !meetsMinimum(amounts, store.min_order_price)) {
    throw new DomainError(
      'minimum_order_not_met',
      `The menu total ${total} KRW is below the store's minimum of ${store.min_order_price} KRW.`,
    );
  }

  let delivery = input.delivery;
  if (!delivery) {
    if (!saved?.address || saved.lat === null || saved.lon === null) {
      throw new DomainError('delivery_address_missing', 'Give a delivery address, or save one with PUT /users/me/address.');
    }
    delivery = { address: saved.address, lat: saved.lat, lon: saved.lon };
  }
  // There is a store and a point by now, so a distance: great_circle_m, the one definition of it.
  const radius = store.delivery_radius_m ?? quotas.deliveryRadiusM;
  if (deliveryDistanceM! > radius) {
    throw new DomainError(
      'outside_delivery_area',
      `The delivery point is ${Math.ceil(deliveryDistanceM!)} m from the store, which delivers within ${radius} m.`,
    );
  }

  const charge = shares(amounts).creator;
  const order = await insertOrderCharged(
    tx,
    {
      id: uuidv7(),
      storeId: store.id,
      creatorId: userId,
      splitType: input.split_type,
      menuTotal: total,
      deliveryTip: store.delivery_tip,
      delivery,
      ttlMinutes,
    },
    items,
    charge,
    quotas.maxOpenOrders,
  );
  if ('refused' in order) {
    if (order.refused === 'credit') throw insufficientCredit(charge);
    throw new DomainError(
      'too_many_open_orders',
      `You have ${order.open} open orders, as many as you may: wait for one to be joined, expire, or cancel one.`,
    );
  }
  if (fromCart) await deleteCartItems(tx, userId);
  return { ...order, items: items.map((i) => presentableItem(userId, i)) };
}
