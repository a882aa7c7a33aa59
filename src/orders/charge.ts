import type { Tx } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import { shares } from '../domain/pricing.js';
import { moveCredit } from '../users/repository.js';
import type { OrderWithItems } from './repository.js';

/** Charges a share of an order; 402 (and the whole transaction rolls back) if the balance is short. */
export async function chargeShare(tx: Tx, userId: string, orderId: string, amount: number): Promise<void> {
  const entry = await moveCredit(tx, { userId, amount: -amount, kind: 'order_charge', orderId });
  if (!entry) {
    throw new DomainError('insufficient_credit', `Your share is ${amount} KRW, more than your balance. Top up and try again.`);
  }
}

/** Gives the creator back exactly what they were charged for an order that did not happen. */
export async function refundCreator(tx: Tx, order: OrderWithItems): Promise<void> {
  const paid = shares({
    splitType: order.split_type,
    menuTotal: order.menu_total,
    joinerMenuTotal: null,
    deliveryTip: order.delivery_tip,
  }).creator;
  await moveCredit(tx, { userId: order.creator_id, amount: paid, kind: 'order_refund', orderId: order.id });
}
