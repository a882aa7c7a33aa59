import type { Tx } from '../db/database.js';
import type { Actor } from '../domain/order-state.js';
import type { VersionCondition } from '../domain/versions.js';
import { refundCreators } from './charge.js';
import { explainRefusal } from './refusal.js';
import { insertNotifications } from '../notifications/repository.js';
import { expireForRefunds, expireWhole, type ExpiredOrder, type ExpireTarget, type OrderWithItems } from './repository.js';

const EXPIRED_MESSAGE = 'Nobody joined in time: your share was refunded.';

/** What follows an expiry, the same for one order and a batch: each creator refunded in full and told, set-based. */
async function refundAndTell(tx: Tx, expired: ExpiredOrder[]): Promise<void> {
  await refundCreators(tx, expired);
  await insertNotifications(
    tx,
    expired.map((order) => ({ userId: order.creator_id, orderId: order.id, kind: 'order_expired' as const, message: EXPIRED_MESSAGE })),
  );
}

/**
 * Nobody joined in time: a sweeper's batch expires, its creators refunded in full. The same
 * compare-and-set and the same refunds as POST /orders/{id}/expire: one statement each for all.
 */
export async function expireOrders(tx: Tx, targets: ExpireTarget[]): Promise<ExpiredOrder[]> {
  const expired = await expireForRefunds(tx, targets);
  await refundAndTell(tx, expired);
  return expired;
}

/** One order, for its answer; a refusal is explained as for every action. */
export async function expireOrder(tx: Tx, actor: Actor, orderId: string, condition: VersionCondition): Promise<OrderWithItems> {
  const [order] = await expireWhole(tx, [{ id: orderId, condition }]);
  if (!order) throw await explainRefusal(tx, 'expire', orderId, condition, actor);
  await refundAndTell(tx, [order]);
  return order;
}
