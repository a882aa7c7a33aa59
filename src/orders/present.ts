import { shares } from '../domain/pricing.js';
import type { OrderWithItems } from './repository.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function presentOrder(order: OrderWithItems) {
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
    creator_id: order.creator_id,
    joiner_id: order.joiner_id,
    created_at: order.created_at.toISOString(),
    expires_at: order.expires_at.toISOString(),
    matched_at: iso(order.matched_at),
    completed_at: iso(order.completed_at),
    cancelled_at: iso(order.cancelled_at),
    expired_at: iso(order.expired_at),
    delivery: { address: order.delivery_address, lat: order.delivery_lat, lon: order.delivery_lon },
    items: order.items,
    menu_total: order.menu_total + (order.joiner_menu_total ?? 0),
    delivery_tip: order.delivery_tip,
    shares: shares(amounts),
  };
}
