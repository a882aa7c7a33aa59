import type { Tx } from '../db/database.js';
import type { UserActor } from '../domain/order-state.js';
import type { VersionCondition } from '../domain/versions.js';
import { payStore } from './charge.js';
import { explainRefusal } from './refusal.js';
import { transitionOrder, type OrderWithItems } from './repository.js';
import { tellParticipants } from './tell.js';

/** The rider hands the order over: it is completed, and what it held is paid to the store, in this transaction. */
export async function deliverOrder(tx: Tx, actor: UserActor, orderId: string, condition: VersionCondition): Promise<OrderWithItems> {
  const order = await transitionOrder(tx, 'deliver', orderId, condition, actor);
  if (!order) throw await explainRefusal(tx, 'deliver', orderId, condition, actor);
  await payStore(tx, order);
  await tellParticipants(tx, [order], 'order_delivered', 'Your joint order was delivered. Enjoy!');
  return order;
}
