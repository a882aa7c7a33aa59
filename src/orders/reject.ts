import type { Tx } from '../db/database.js';
import type { Actor } from '../domain/order-state.js';
import type { VersionCondition } from '../domain/versions.js';
import { refundParticipants } from './charge.js';
import { explainRefusal } from './refusal.js';
import { rejectUnanswered, transitionOrder, type ExpireTarget, type OrderWithItems, type RefundableOrder } from './repository.js';
import { tellParticipants } from './tell.js';

/** What follows a rejection, the same for the store's and the sweeper's: both refunded in full and told, set-based. */
async function refundAndTell(tx: Tx, rejected: RefundableOrder[], message: string): Promise<void> {
  await refundParticipants(tx, rejected);
  await tellParticipants(tx, rejected, 'order_rejected', message);
}

/** The store turns a matched order down: both participants get back what they paid. */
export async function rejectOrder(tx: Tx, actor: Actor, orderId: string, condition: VersionCondition): Promise<OrderWithItems> {
  const order = await transitionOrder(tx, 'reject', orderId, condition, actor);
  if (!order) throw await explainRefusal(tx, 'reject', orderId, condition, actor);
  await refundAndTell(tx, [order], 'The store could not take your order: your share was refunded.');
  return order;
}

/**
 * The store did not answer in time: a sweeper's batch of matched orders past accept_by is
 * rejected by the reject row's compare-and-set, with the same refunds, in a few statements.
 */
export async function rejectUnansweredOrders(tx: Tx, targets: ExpireTarget[]): Promise<RefundableOrder[]> {
  const rejected = await rejectUnanswered(tx, targets);
  await refundAndTell(tx, rejected, 'The store did not answer in time: your share was refunded.');
  return rejected;
}
