import type { Tx } from '../db/database.js';
import type { Actor } from '../domain/order-state.js';
import type { VersionCondition } from '../domain/versions.js';
import { refundCreators } from './charge.js';
import { explainRefusal } from './refusal.js';
import { insertNotifications } from '../notifications/repository.js';
import { expireOrdersCas, type ExpiredOrder, type ExpireTarget, type OrderWithItems } from './repository.js';

const EXPIRED_MESSAGE = 'Nobody joined in time: your share was refunded.';

/**
 * Nobody joined in time: each order expires and its creator is refunded in full. One code path
 * for POST /orders/{id}/expire (one order) and the sweeper (a batch): one compare-and-set for
 * all, then the refunds and notifications of the ones it expired, each a set-based statement.
 */
export async function expireOrders(tx: Tx, targets: ExpireTarget[], options: { whole: true }): Promise<OrderWithItems[]>;
export async function expireOrders(tx: Tx, targets: ExpireTarget[], options?: { whole: false }): Promise<ExpiredOrder[]>;
export async function expireOrders(tx: Tx, targets: ExpireTarget[], options: { whole: boolean } = { whole: false }) {
  const expired = await expireOrdersCas(tx, targets, options.whole);
  await refundCreators(tx, expired);
  await insertNotifications(
    tx,
    expired.map((order) => ({ userId: order.creator_id, orderId: order.id, kind: 'order_expired' as const, message: EXPIRED_MESSAGE })),
  );
  return expired;
}

/** One order: the batch path with one target; a refusal is explained as for every action. */
export async function expireOrder(tx: Tx, actor: Actor, orderId: string, condition: VersionCondition): Promise<OrderWithItems> {
  const [order] = await expireOrders(tx, [{ id: orderId, condition }], { whole: true });
  if (!order) throw await explainRefusal(tx, 'expire', orderId, condition, actor);
  return order;
}
