import type { Tx } from '../db/database.js';
import type { UserActor } from '../domain/order-state.js';
import type { VersionCondition } from '../domain/versions.js';
import { explainRefusal } from './refusal.js';
import { transitionOrder, type OrderWithItems } from './repository.js';
import { tellParticipants } from './tell.js';

/** The store takes a matched order, before its answering deadline: from now on it cannot be cancelled. */
export async function acceptOrder(tx: Tx, actor: UserActor, orderId: string, condition: VersionCondition): Promise<OrderWithItems> {
  const order = await transitionOrder(tx, 'accept', orderId, condition, actor);
  if (!order) throw await explainRefusal(tx, 'accept', orderId, condition, actor);
  await tellParticipants(tx, [order], 'order_accepted', 'The store accepted your order and is preparing it.');
  return order;
}
