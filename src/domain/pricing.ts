import type { SplitType } from './kinds.js';

/** Integer KRW only. Every rule about who pays what lives here. */

export interface LineItem {
  unitPrice: number;
  quantity: number;
}

export function menuTotal(items: readonly LineItem[]): number {
  return items.reduce((sum, item) => sum + item.unitPrice * item.quantity, 0);
}

export interface OrderAmounts {
  splitType: SplitType;
  /** split: the shared menu; separate: the creator's own items. */
  menuTotal: number;
  /** separate only: the joiner's own items (null until someone joins). */
  joinerMenuTotal: number | null;
  deliveryTip: number;
}

export interface Shares {
  creator: number;
  /** null while nobody has joined a separate order (their items are not known yet). */
  joiner: number | null;
}

/**
 * split: the creator pays the rounded-up halves, the joiner the rounded-down ones, so the two
 * always add up to M + T exactly. separate: each pays their own items plus half the tip.
 */
export function shares(order: OrderAmounts): Shares {
  const tipCreator = Math.ceil(order.deliveryTip / 2);
  const tipJoiner = Math.floor(order.deliveryTip / 2);
  if (order.splitType === 'split') {
    return {
      creator: Math.ceil(order.menuTotal / 2) + tipCreator,
      joiner: Math.floor(order.menuTotal / 2) + tipJoiner,
    };
  }
  return {
    creator: order.menuTotal + tipCreator,
    joiner: order.joinerMenuTotal === null ? null : order.joinerMenuTotal + tipJoiner,
  };
}

/** The menu total that must reach the store's minimum: the whole order's. */
export function meetsMinimum(order: OrderAmounts, minimumOrderPrice: number): boolean {
  return order.menuTotal + (order.joinerMenuTotal ?? 0) >= minimumOrderPrice;
}
