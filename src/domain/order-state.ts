import type { ErrorCode } from './errors.js';
import { DomainError } from './errors.js';
import type { OrderStatus } from './kinds.js';

/**
 * The order lifecycle, one row per transition: every rule of an action is read from its row —
 * the compare-and-set (from, clock, who, the timestamp it stamps), the sweepers' set-based
 * statements, the permission check and the explanation of a refusal. Nothing else says which
 * transitions exist. Adding an action is one row here, one verb file, one route.
 */
export type OrderAction = 'join' | 'cancel' | 'expire' | 'complete';

/** Who may take the action: anyone signed in, the order's creator, or either participant. */
export type Who = 'anyone' | 'creator' | 'participant';

/** When, relative to the order's joining deadline (expires_at) by the database's clock. */
export type Clock = 'any_time' | 'before_expiry' | 'after_expiry';

/** The column the transition stamps with the time it happened. */
export type Stamp = 'matched_at' | 'completed_at' | 'cancelled_at' | 'expired_at';

/** What happens to the money (the verb does it, in the same transaction). */
export type MoneyEffect = 'charge_joiner' | 'refund_creator' | 'none';

export interface Transition {
  action: OrderAction;
  from: OrderStatus;
  to: OrderStatus;
  who: Who;
  /** What a user who is not `who` is told (403 forbidden); absent when anyone may act. */
  notYours?: string;
  clock: Clock;
  stamps: Stamp;
  /** The refusal of the action on an order in another state (409). */
  wrongState: ErrorCode;
  money: MoneyEffect;
}

export const TRANSITIONS: readonly Transition[] = [
  {
    action: 'join',
    from: 'pending',
    to: 'matched',
    who: 'anyone',
    clock: 'before_expiry',
    stamps: 'matched_at',
    wrongState: 'order_not_pending',
    money: 'charge_joiner',
  },
  {
    action: 'cancel',
    from: 'pending',
    to: 'cancelled',
    who: 'creator',
    notYours: 'Only the creator may cancel an order.',
    clock: 'before_expiry',
    stamps: 'cancelled_at',
    wrongState: 'order_not_pending',
    money: 'refund_creator',
  },
  {
    action: 'expire',
    from: 'pending',
    to: 'expired',
    who: 'anyone',
    clock: 'after_expiry',
    stamps: 'expired_at',
    wrongState: 'order_not_pending',
    money: 'refund_creator',
  },
  {
    action: 'complete',
    from: 'matched',
    to: 'completed',
    who: 'participant',
    notYours: 'Only a participant may complete an order.',
    clock: 'any_time',
    stamps: 'completed_at',
    wrongState: 'order_not_matched',
    money: 'none',
  },
];

const BY_ACTION = new Map(TRANSITIONS.map((row) => [row.action, row]));

/** The row of `action`. */
export function transitionOf(action: OrderAction): Transition {
  return BY_ACTION.get(action)!;
}

export function transition(action: OrderAction): { from: OrderStatus; to: OrderStatus } {
  const { from, to } = transitionOf(action);
  return { from, to };
}

export interface OrderClock {
  status: OrderStatus;
  expiresAt: Date;
}

/**
 * Why `action` cannot apply to an order in this state at `now`, as a DomainError; null when it
 * can. A pending order past expires_at is expired in effect, even before the sweeper writes it.
 */
export function whyNot(action: OrderAction, order: OrderClock, now: Date): DomainError | null {
  const row = transitionOf(action);
  if (order.status !== row.from) return new DomainError(row.wrongState, `Cannot ${action} an order that is ${order.status}.`);
  const overdue = order.expiresAt.getTime() <= now.getTime();
  if (row.clock === 'before_expiry' && overdue) {
    return new DomainError('order_expired', `The order expired at ${order.expiresAt.toISOString()}.`);
  }
  if (row.clock === 'after_expiry' && !overdue) {
    return new DomainError('order_not_yet_expired', `The order expires at ${order.expiresAt.toISOString()}.`);
  }
  return null;
}

/** Who acts: a signed-in user, or a sweeper of this service. */
export type UserActor = { kind: 'user'; userId: string };
export type Actor = UserActor | { kind: 'system' };

/** Whom the row asks for, for this actor: a sweeper may do anything its job is. */
export function actorRule(action: OrderAction, actor: Actor): Who {
  return actor.kind === 'system' ? 'anyone' : transitionOf(action).who;
}

export function mayAct(action: OrderAction, actor: Actor, order: { creator_id: string; joiner_id: string | null }): boolean {
  const rule = actorRule(action, actor);
  if (rule === 'anyone' || actor.kind === 'system') return true;
  if (rule === 'creator') return order.creator_id === actor.userId;
  return order.creator_id === actor.userId || order.joiner_id === actor.userId;
}

/** The refusal of an actor `mayAct` says no to. */
export function notYours(action: OrderAction): DomainError {
  return new DomainError('forbidden', transitionOf(action).notYours ?? `You may not ${action} this order.`);
}
