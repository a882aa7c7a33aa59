import type { Order } from '../db/schema.js';
import { shares } from '../domain/pricing.js';
import type { OrderWithItems } from './repository.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** To the nearest 10 m: how far an order is, not where it is. */
const roughly = (metres: number) => Math.round(metres / 10) * 10;

export const isParticipant = (order: Pick<Order, 'creator_id' | 'joiner_id'>, userId: string | null) =>
  userId !== null && (order.creator_id === userId || order.joiner_id === userId);

/** What anyone may see of an order: no delivery address, no exact point, no user id. */
function publicFields(order: OrderWithItems) {
  const amounts = {
    splitType: order.split_type,
    menuTotal: order.menu_total,
    joinerMenuTotal: order.joiner_menu_total,
    deliveryTip: order.delivery_tip,
  };
  return {
    id: order.id,
    store_id: order.store_id,
    split_type: order.split_type,
    status: order.status,
    version: order.version,
    created_at: order.created_at.toISOString(),
    expires_at: order.expires_at.toISOString(),
    matched_at: iso(order.matched_at),
    accept_by: iso(order.accept_by),
    accepted_at: iso(order.accepted_at),
    ready_at: iso(order.ready_at),
    picked_up_at: iso(order.picked_up_at),
    completed_at: iso(order.completed_at),
    cancelled_at: iso(order.cancelled_at),
    expired_at: iso(order.expired_at),
    rejected_at: iso(order.rejected_at),
    menu_total: order.menu_total + (order.joiner_menu_total ?? 0),
    delivery_tip: order.delivery_tip,
    shares: shares(amounts),
  };
}

/** The order as its creator and joiner see it: everything. */
export function presentParticipantOrder(order: OrderWithItems) {
  return {
    view: 'participant' as const,
    ...publicFields(order),
    creator_id: order.creator_id,
    joiner_id: order.joiner_id,
    delivery: { address: order.delivery_address, lat: order.delivery_lat, lon: order.delivery_lon },
    items: order.items,
  };
}

/**
 * The order as the store's staff and the rider who picked it up see it: where it goes and what to
 * cook or carry, but still no user id.
 */
export function presentFulfilmentOrder(order: OrderWithItems) {
  return {
    view: 'fulfilment' as const,
    ...publicFields(order),
    delivery: { address: order.delivery_address, lat: order.delivery_lat, lon: order.delivery_lon },
    items: order.items.map(({ user_id: _, ...item }) => item),
  };
}

/** The order as anyone else sees it, `distanceM` away (rounded here), or null when that is unknown. */
export function presentPublicOrder<D extends number | null>(order: OrderWithItems, distanceM: D) {
  return {
    view: 'public' as const,
    ...publicFields(order),
    items: order.items.map(({ user_id: _, ...item }) => item),
    distance_m: (distanceM === null ? null : roughly(distanceM)) as D extends null ? null : number,
  };
}

/** A ready order offered to a rider: the public view, how far its store is, and how long the ride (to 100 m). */
export function presentDeliveryOffer(order: OrderWithItems, distanceM: number, tripM: number) {
  return { ...presentPublicOrder(order, distanceM), trip_m: Math.round(tripM / 100) * 100 };
}

/**
 * The one decision of what `viewerId` may see of an order: its participants everything; the
 * store's staff (`viewerIsStaff`) and the rider who picked it up the fulfilment view; anyone else
 * (null: no user) the public view, `distanceM` away from them.
 */
export function presentOrderFor(order: OrderWithItems, viewerId: string | null, distanceM: number | null, viewerIsStaff = false) {
  if (isParticipant(order, viewerId)) return presentParticipantOrder(order);
  if (viewerIsStaff || (viewerId !== null && order.rider_id === viewerId)) return presentFulfilmentOrder(order);
  return presentPublicOrder(order, distanceM);
}
