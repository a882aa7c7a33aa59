import type { ErrorCode } from './errors.js';
import { DomainError } from './errors.js';
import type { OrderStatus } from './kinds.js';

/**
 * The order lifecycle, one row per transition: every rule of an action is read from its row —
 * the compare-and-set (from, clock, who, the timestamp it stamps), the sweepers' set-based
 * statements, the permission check and the explanation of a refusal. Nothing else says which
 * transitions exist. Adding an action is one row here, one verb file, one route. An action may
 * have more than one row (cancel: a pending order by its creator, a matched one by either
 * participant); its rows never share a `from`.
 */
export type OrderAction = 'join' | 'cancel' | 'expire' | 'accept' | 'reject' | 'ready' | 'pick_up' | 'deliver';

/**
 * Who may take the action: anyone signed in, the order's creator, either participant, the staff
 * of the order's store, any rider, or the rider who picked the order up.
 */
export type Who = 'anyone' | 'creator' | 'participant' | 'store_staff' | 'rider' | 'order_rider';

/**
 * When, by the database's clock: relative to the order's joining deadline (expires_at), or before
 * the store's answering deadline (accept_by) has passed.
 */
export type Clock = 'any_time' | 'before_expiry' | 'after_expiry' | 'before_accept_by';

/** The column the transition stamps with the time it happened. */
export type Stamp =
  'matched_at' | 'accepted_at' | 'ready_at' | 'picked_up_at' | 'completed_at' | 'cancelled_at' | 'expired_at' | 'rejected_at';

/** What happens to the money (the verb does it, in the same transaction). */
export type MoneyEffect = 'charge_joiner' | 'refund_creator' | 'refund_both' | 'pay_store' | 'none';

export interface Transition {
  action: OrderAction;
  from: OrderStatus;
  to: OrderStatus;
  who: Who;
  /** What a user who is not `who` is told (403 forbidden); absent when anyone may act. */
  notYours?: string;
  clock: Clock;
  stamps: Stamp;
  /** The refusal of the action on an order in a state none of its rows starts from (409). */
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
    notYours: 'Only the creator may cancel a pending order.',
    clock: 'before_expiry',
    stamps: 'cancelled_at',
    wrongState: 'order_not_cancellable',
    money: 'refund_creator',
  },
  {
    action: 'cancel',
    from: 'matched',
    to: 'cancelled',
    who: 'participant',
    notYours: 'Only a participant may cancel a matched order.',
    clock: 'any_time',
    stamps: 'cancelled_at',
    wrongState: 'order_not_cancellable',
    money: 'refund_both',
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
    action: 'accept',
    from: 'matched',
    to: 'accepted',
    who: 'store_staff',
    notYours: "Only the store's staff may accept its orders.",
    clock: 'before_accept_by',
    stamps: 'accepted_at',
    wrongState: 'order_not_matched',
    money: 'none',
  },
  {
    // The sweeper takes this row too, for orders the store left unanswered past accept_by.
    action: 'reject',
    from: 'matched',
    to: 'rejected',
    who: 'store_staff',
    notYours: "Only the store's staff may reject its orders.",
    clock: 'any_time',
    stamps: 'rejected_at',
    wrongState: 'order_not_matched',
    money: 'refund_both',
  },
  {
    action: 'ready',
    from: 'accepted',
    to: 'ready',
    who: 'store_staff',
    notYours: "Only the store's staff may mark its orders ready.",
    clock: 'any_time',
    stamps: 'ready_at',
    wrongState: 'order_not_accepted',
    money: 'none',
  },
  {
    action: 'pick_up',
    from: 'ready',
    to: 'picked_up',
    who: 'rider',
    notYours: 'Only a rider may pick up an order.',
    clock: 'any_time',
    stamps: 'picked_up_at',
    wrongState: 'order_not_ready',
    money: 'none',
  },
  {
    action: 'deliver',
    from: 'picked_up',
    to: 'completed',
    who: 'order_rider',
    notYours: 'Only the rider who picked the order up may deliver it.',
    clock: 'any_time',
    stamps: 'completed_at',
    wrongState: 'order_not_picked_up',
    money: 'pay_store',
  },
];

/** The path segment of an action's endpoint (POST /orders/{id}/pick-up). */
export const actionPath = (action: OrderAction) => action.replace('_', '-');

/** The rows of `action`, in the order its compare-and-sets are tried. */
export function transitionsOf(action: OrderAction): Transition[] {
  return TRANSITIONS.filter((row) => row.action === action);
}

/** The (first) row of `action`. */
export function transitionOf(action: OrderAction): Transition {
  return transitionsOf(action)[0];
}

/** The row of `action` that applies to an order in `status`, if any. */
export function rowFor(action: OrderAction, status: OrderStatus): Transition | undefined {
  return TRANSITIONS.find((row) => row.action === action && row.from === status);
}

export function transition(action: OrderAction): { from: OrderStatus; to: OrderStatus } {
  const { from, to } = transitionOf(action);
  return { from, to };
}

export interface OrderClock {
  status: OrderStatus;
  expiresAt: Date;
  /** When the store must have answered; null until matched. */
  acceptBy: Date | null;
}

/**
 * Why `action` cannot apply to an order in this state at `now`, as a DomainError; null when it
 * can. A pending order past expires_at is expired in effect, even before the sweeper writes it;
 * a matched order past accept_by is rejected in effect: the store can no longer accept it.
 */
export function whyNot(action: OrderAction, order: OrderClock, now: Date): DomainError | null {
  const row = rowFor(action, order.status);
  if (!row) return new DomainError(transitionOf(action).wrongState, `Cannot ${actionPath(action)} an order that is ${order.status}.`);
  const overdue = order.expiresAt.getTime() <= now.getTime();
  if (row.clock === 'before_expiry' && overdue) {
    return new DomainError('order_expired', `The order expired at ${order.expiresAt.toISOString()}.`);
  }
  if (row.clock === 'after_expiry' && !overdue) {
    return new DomainError('order_not_yet_expired', `The order expires at ${order.expiresAt.toISOString()}.`);
  }
  if (row.clock === 'before_accept_by' && order.acceptBy && order.acceptBy.getTime() <= now.getTime()) {
    return new DomainError('accept_deadline_passed', `The store had until ${order.acceptBy.toISOString()} to accept.`);
  }
  return null;
}

/** The roles of a signed-in user: the stores they are staff of, and whether they are a rider. */
export interface Roles {
  staffOf: string[];
  rider: boolean;
}

/** Who acts: a signed-in user (with their roles, where an action asks for them), or a sweeper. */
export type UserActor = { kind: 'user'; userId: string; roles?: Roles };
export type Actor = UserActor | { kind: 'system' };

/** What of an order the permission rules look at. */
export interface OrderParties {
  status: OrderStatus;
  creator_id: string;
  joiner_id: string | null;
  store_id: string;
  rider_id: string | null;
}

/** Whom the row asks for, for this actor: a sweeper may do anything its job is. */
export function actorRule(row: Transition, actor: Actor): Who {
  return actor.kind === 'system' ? 'anyone' : row.who;
}

/** Whether `who` describes this user for this order. */
export function isWho(who: Who, actor: UserActor, order: Omit<OrderParties, 'status'>): boolean {
  const roles = actor.roles ?? { staffOf: [], rider: false };
  switch (who) {
    case 'anyone':
      return true;
    case 'creator':
      return order.creator_id === actor.userId;
    case 'participant':
      return order.creator_id === actor.userId || order.joiner_id === actor.userId;
    case 'store_staff':
      return roles.staffOf.includes(order.store_id);
    case 'rider':
      return roles.rider;
    case 'order_rider':
      return order.rider_id === actor.userId;
  }
}

/**
 * Whether the actor may take `action` on the order as it stands: by the row of its state, or, in
 * a state no row starts from, by any of the action's rows (so a participant who may cancel is told
 * the order can no longer be cancelled, not that it is not theirs).
 */
export function mayAct(action: OrderAction, actor: Actor, order: OrderParties): boolean {
  if (actor.kind === 'system') return true;
  const row = rowFor(action, order.status);
  const rows = row ? [row] : transitionsOf(action);
  return rows.some((r) => isWho(actorRule(r, actor), actor, order));
}

/** The refusal of an actor `mayAct` says no to. */
export function notYours(action: OrderAction, status: OrderStatus): DomainError {
  const row = rowFor(action, status) ?? transitionOf(action);
  return new DomainError('forbidden', row.notYours ?? `You may not ${actionPath(action)} this order.`);
}

/** Whether a row's rule needs the actor's roles (so a refusal can be explained). */
export const needsRoles = (action: OrderAction) => transitionsOf(action).some((row) => row.who === 'store_staff' || row.who === 'rider');
