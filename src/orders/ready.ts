import type { Tx } from '../db/database.js';
import type { UserActor } from '../domain/order-state.js';
import type { VersionCondition } from '../domain/versions.js';
import { explainRefusal } from './refusal.js';
import { transitionOrder, type OrderWithItems } from './repository.js';
import { tellParticipants } from './tell.js';

/** The store has prepared an accepted order: riders may now pick it up. */
export async function readyOrder(tx: Tx, actor: UserActor, orderId: string, condition: VersionCondition): Promise<OrderWithItems> {
  const order = await transitionOrder(tx, 'ready', orderId, condition, actor);
  if (!order) throw await explainRefusal(tx, 'ready', orderId, condition, actor);
  await tellParticipants(tx, [order], 'order_ready', 'Your order is ready and waiting for a rider.');
  return order;
}
