import type { Tx } from '../db/database.js';
import type { Order } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import { shares } from '../domain/pricing.js';
import type { NoteToSend } from '../notifications/repository.js';
import { creditMany, moveCredit } from '../users/repository.js';
import { payOut } from '../stores/repository.js';
import type { ExpiredOrder, OrderWithItems, RefundableOrder } from './repository.js';

export function insufficientCredit(amount: number): DomainError {
  return new DomainError('insufficient_credit', `Your share is ${amount} KRW, more than your balance. Top up and try again.`);
}

/**
 * Charges a share of an order, sending `notes` with it (one statement); 402 (and the whole
 * transaction rolls back) if the balance is short.
 */
export async function chargeShare(tx: Tx, userId: string, orderId: string, amount: number, notes: NoteToSend[] = []): Promise<void> {
  const entry = await moveCredit(tx, { userId, amount: -amount, kind: 'order_charge', orderId }, notes);
  if (!entry) throw insufficientCredit(amount);
}

/** What the creator paid at creation, and so what a refund gives back. */
export function creatorShare(order: Pick<Order, 'split_type' | 'menu_total' | 'delivery_tip'>): number {
  return shares({
    splitType: order.split_type,
    menuTotal: order.menu_total,
    joinerMenuTotal: null,
    deliveryTip: order.delivery_tip,
  }).creator;
}

/** Gives the creator back exactly what they were charged for an order that did not happen, with `notes`. */
export async function refundCreator(tx: Tx, order: OrderWithItems, notes: NoteToSend[] = []): Promise<void> {
  await moveCredit(tx, { userId: order.creator_id, amount: creatorShare(order), kind: 'order_refund', orderId: order.id }, notes);
}

/** refundCreator for many orders (the expiry sweeper's batch): one ledger row each, one statement. */
export async function refundCreators(tx: Tx, orders: ExpiredOrder[]): Promise<void> {
  await creditMany(
    tx,
    orders.map((order) => ({ userId: order.creator_id, amount: creatorShare(order), kind: 'order_refund' as const, orderId: order.id })),
  );
}

/** What each participant paid for an order: the creator's share, and the joiner's once joined. */
function paidShares(order: RefundableOrder): { userId: string; amount: number }[] {
  const owed = shares({
    splitType: order.split_type,
    menuTotal: order.menu_total,
    joinerMenuTotal: order.joiner_menu_total,
    deliveryTip: order.delivery_tip,
  });
  const paid = [{ userId: order.creator_id, amount: owed.creator }];
  if (order.joiner_id) paid.push({ userId: order.joiner_id, amount: owed.joiner! });
  return paid;
}

/**
 * Gives each participant of each order back exactly what they paid (a matched order that was
 * cancelled or rejected): one ledger row each, one statement for the whole batch.
 */
export async function refundParticipants(tx: Tx, orders: RefundableOrder[]): Promise<void> {
  await creditMany(
    tx,
    orders.flatMap((order) => paidShares(order).map((p) => ({ ...p, kind: 'order_refund' as const, orderId: order.id }))),
  );
}

/** Pays what a delivered order holds (both shares: menu total + tip) into its store's account. */
export async function payStore(tx: Tx, order: OrderWithItems): Promise<void> {
  const amount = paidShares(order).reduce((sum, p) => sum + p.amount, 0);
  await payOut(tx, { storeId: order.store_id, orderId: order.id, amount });
}
