import type { Tx } from '../db/database.js';
import type { Actor } from '../domain/order-state.js';
import type { VersionCondition } from '../domain/versions.js';
import { explainRefusal } from './refusal.js';
import { insertNotifications } from '../notifications/repository.js';
import { transitionOrder, type OrderWithItems } from './repository.js';

/** The food arrived: a matched order becomes completed. No money moves. */
export async function completeOrder(tx: Tx, actor: Actor, orderId: string, condition: VersionCondition): Promise<OrderWithItems> {
  const order = await transitionOrder(tx, 'complete', orderId, condition, actor);
  if (!order) throw await explainRefusal(tx, 'complete', orderId, condition, actor);
  await insertNotifications(
    tx,
    [order.creator_id, order.joiner_id!].map((userId) => ({
      userId,
      orderId,
      kind: 'order_completed' as const,
      message: 'Your joint order was delivered.',
    })),
  );
  return order;
}
