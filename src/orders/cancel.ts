import type { Tx } from '../db/database.js';
import type { Actor } from '../domain/order-state.js';
import type { VersionCondition } from '../domain/versions.js';
import { refundCreator } from './charge.js';
import { explainRefusal } from './refusal.js';
import { transitionOrder, type OrderWithItems } from './repository.js';

/** The creator withdraws a pending order and gets back exactly what they paid. */
export async function cancelOrder(tx: Tx, actor: Actor, orderId: string, condition: VersionCondition): Promise<OrderWithItems> {
  const order = await transitionOrder(tx, 'cancel', orderId, condition, actor);
  if (!order) throw await explainRefusal(tx, 'cancel', orderId, condition, actor);
  await refundCreator(tx, order, [
    { userId: order.creator_id, orderId, kind: 'order_cancelled', message: 'Your order was cancelled and your share refunded.' },
  ]);
  return order;
}
