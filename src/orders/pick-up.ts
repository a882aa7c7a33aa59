import type { Tx } from '../db/database.js';
import type { UserActor } from '../domain/order-state.js';
import type { VersionCondition } from '../domain/versions.js';
import { explainRefusal } from './refusal.js';
import { pickUpTransition, type OrderWithItems } from './repository.js';
import { tellParticipants } from './tell.js';

/** A rider takes a ready order: the first one wins, and only they may deliver it. */
export async function pickUpOrder(tx: Tx, actor: UserActor, orderId: string, condition: VersionCondition): Promise<OrderWithItems> {
  const order = await pickUpTransition(tx, orderId, condition, actor.userId);
  if (!order) throw await explainRefusal(tx, 'pick_up', orderId, condition, actor);
  await tellParticipants(tx, [order], 'order_picked_up', 'A rider picked up your order: it is on its way.');
  return order;
}
