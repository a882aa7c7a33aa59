import type { Tx } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import { shares } from '../domain/pricing.js';
import type { Order } from '../db/schema.js';
import { creditMany, moveCredit } from '../users/repository.js';
import type { OrderWithItems } from './repository.js';

/** Charges a share of an order; 402 (and the whole transaction rolls back) if the balance is short. */
export async function chargeShare(tx: Tx, userId: string, orderId: string, amount: number): Promise<void> {
  const entry = await moveCredit(tx, { userId, amount: -amount, kind: 'order_charge', orderId });
  if (!entry) {
    throw new DomainError('insufficient_credit', `Your share is ${amount} KRW, more than your balance. Top up and try again.`);
  }
}

/** What the creator paid at creation, and so what a refund gives back. */
function creatorPaid(order: Order): number {
  return shares({
    splitType: order.split_type,
    menuTotal: order.menu_total,
    joinerMenuTotal: null,
    deliveryTip: order.delivery_tip,
  }).creator;
}

/** Gives the creator back exactly what they were charged for an order that did not happen. */
export async function refundCreator(tx: Tx, order: OrderWithItems): Promise<void> {
  await moveCredit(tx, { userId: order.creator_id, amount: creatorPaid(order), kind: 'order_refund', orderId: order.id });
}

/** refundCreator for many orders (the expiry sweeper's batch): one ledger row each, one statement. */
export async function refundCreators(tx: Tx, orders: Order[]): Promise<void> {
  await creditMany(
    tx,
    orders.map((order) => ({ userId: order.creator_id, amount: creatorPaid(order), kind: 'order_refund' as const, orderId: order.id })),
  );
}
