/**
 * The closed lists of the domain's words. The database's CHECKs, the table types in db/schema.ts
 * and the OpenAPI enums are these lists (test/unit/kinds.test.ts holds the migrations to them).
 */
export const ORDER_STATUSES = [
  'pending',
  'matched',
  'accepted',
  'ready',
  'picked_up',
  'completed',
  'cancelled',
  'expired',
  'rejected',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const SPLIT_TYPES = ['split', 'separate'] as const;
export type SplitType = (typeof SPLIT_TYPES)[number];

export const LEDGER_KINDS = ['signup_grant', 'top_up', 'order_charge', 'order_refund'] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/** Where a top-up stands: created, being confirmed at the provider, then settled one way. */
export const TOP_UP_STATUSES = ['awaiting_payment', 'processing', 'succeeded', 'failed'] as const;
export type TopUpStatus = (typeof TOP_UP_STATUSES)[number];

/** A store payout account's movements: a delivered order's held money. */
export const STORE_LEDGER_KINDS = ['order_payout'] as const;
export type StoreLedgerKind = (typeof STORE_LEDGER_KINDS)[number];

export const NOTIFICATION_KINDS = [
  'order_matched',
  'order_expired',
  'order_cancelled',
  'order_accepted',
  'order_rejected',
  'order_ready',
  'order_picked_up',
  'order_delivered',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** What the live streams say happened to an order: its new state, or a refund to the recipient. */
export const EVENT_KINDS = [
  'order.created',
  'order.matched',
  'order.cancelled',
  'order.expired',
  'order.accepted',
  'order.rejected',
  'order.ready',
  'order.picked_up',
  'order.delivered',
  'order.refunded',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];
