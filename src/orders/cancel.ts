import type { Tx } from '../db/database.js';
import type { Actor } from '../domain/order-state.js';
import type { VersionCondition } from '../domain/versions.js';
import { refundCreator, refundParticipants } from './charge.js';
import { explainRefusal } from './refusal.js';
import { transitionOrder, type OrderWithItems } from './repository.js';
import { tellParticipants } from './tell.js';

/**
 * Withdraws an order and gives back exactly what was paid: a pending one by its creator, a
 * matched one by either participant until the store accepts it (both refunded).
 */
export async function cancelOrder(tx: Tx, actor: Actor, orderId: string, condition: VersionCondition): Promise<OrderWithItems> {
  const order = await transitionOrder(tx, 'cancel', orderId, condition, actor);
  if (!order) throw await explainRefusal(tx, 'cancel', orderId, condition, actor);
  if (order.joiner_id === null) {
    await refundCreator(tx, order, [
      { userId: order.creator_id, orderId, kind: 'order_cancelled', message: 'Your order was cancelled and your share refunded.' },
    ]);
  } else {
    await refundParticipants(tx, [order]);
    await tellParticipants(
      tx,
      [order],
      'order_cancelled',
      'The order was cancelled before the store accepted it: your share was refunded.',
    );
  }
  return order;
}
