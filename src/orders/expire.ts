import type { Tx } from '../db/database.js';
import type { Actor } from '../domain/order-state.js';
import type { VersionCondition } from '../http/etag.js';
import { refundCreator } from './charge.js';
import { explainRefusal } from './refusal.js';
import { insertNotifications, transitionOrder, type OrderWithItems } from './repository.js';

/** Nobody joined in time: the order expires and the creator is refunded in full. */
export async function expireOrder(tx: Tx, actor: Actor, orderId: string, condition: VersionCondition): Promise<OrderWithItems> {
  const order = await transitionOrder(tx, 'expire', orderId, condition, { actor });
  if (!order) throw await explainRefusal(tx, 'expire', orderId, condition, actor);
  await refundCreator(tx, order);
  await insertNotifications(tx, [
    { userId: order.creator_id, orderId, kind: 'order_expired', message: 'Nobody joined in time: your share was refunded.' },
  ]);
  return order;
}
