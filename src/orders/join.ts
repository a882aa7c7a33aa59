import type { Tx } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import { meetsMinimum, shares } from '../domain/pricing.js';
import type { VersionCondition } from '../domain/versions.js';
import { chargeShare } from './charge.js';
import { presentableItem, priceItems, type RequestedItem } from './items.js';
import { explainRefusal } from './refusal.js';
import { insertItems, joinTransition, loadOrderFacts, type OrderWithItems } from './repository.js';

/**
 * Joins a pending order: compare-and-set to matched, then charge the joiner. A loser of a race
 * fails at the compare-and-set, before any money moves.
 *
 * Without items (joining a split order, the common case) nothing needs reading first: the
 * compare-and-set itself only matches a split order of someone else, and a refusal is explained
 * afterwards by one read, with the same precedence as below. With items the order's facts are
 * read first to price them.
 */
export async function joinOrder(
  tx: Tx,
  userId: string,
  orderId: string,
  condition: VersionCondition,
  requested: RequestedItem[] | undefined,
  acceptMinutes: number,
): Promise<OrderWithItems> {
  let joinerMenuTotal: number | null = null;
  let joinerItems: Awaited<ReturnType<typeof priceItems>>['items'] = [];
  if (requested !== undefined) {
    // Facts that never change after creation: safe to check before the compare-and-set.
    const facts = await loadOrderFacts(tx, orderId);
    if (!facts) throw new DomainError('not_found', `No order ${orderId}.`);
    if (facts.creator_id === userId) throw ownOrder();
    if (facts.split_type === 'split') throw itemsNotAllowed();
    if (!requested.length) throw itemsRequired();
    const priced = await priceItems(tx, facts.store_id, requested);
    const amounts = {
      splitType: facts.split_type,
      menuTotal: facts.menu_total,
      joinerMenuTotal: priced.total,
      deliveryTip: facts.delivery_tip,
    };
    if (!meetsMinimum(amounts, facts.min_order_price)) {
      throw new DomainError(
        'minimum_order_not_met',
        `Together the order comes to ${facts.menu_total + priced.total} KRW, below the store's minimum of ${facts.min_order_price} KRW.`,
      );
    }
    joinerMenuTotal = priced.total;
    joinerItems = priced.items;
  }

  const actor = { kind: 'user', userId } as const;
  const splitType = requested === undefined ? 'split' : 'separate';
  const order = await joinTransition(tx, orderId, condition, { userId, joinerMenuTotal, splitType, acceptMinutes });
  if (!order) {
    throw await explainRefusal(tx, 'join', orderId, condition, actor, (found) => {
      if (found.creator_id === userId) return ownOrder();
      if (found.split_type !== splitType) return requested === undefined ? itemsRequired() : itemsNotAllowed();
      return undefined;
    });
  }

  const owed = shares({ splitType: order.split_type, menuTotal: order.menu_total, joinerMenuTotal, deliveryTip: order.delivery_tip });
  await insertItems(tx, orderId, userId, joinerItems);
  await chargeShare(tx, userId, orderId, owed.joiner!, [
    { userId: order.creator_id, orderId, kind: 'order_matched', message: 'A neighbour joined your order: it is with the store now.' },
    { userId, orderId, kind: 'order_matched', message: 'You joined the order: it is with the store now.' },
  ]);
  return { ...order, items: [...order.items, ...joinerItems.map((i) => presentableItem(userId, i))] };
}

const ownOrder = () => new DomainError('own_order', 'You cannot join your own order.');
const itemsNotAllowed = () => new DomainError('items_not_allowed', "A split order shares the creator's menu: join it without items.");
const itemsRequired = () => new DomainError('items_required', 'A separate order needs your own items.');
