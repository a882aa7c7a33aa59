import type { OrderStatus } from './kinds.js';
import { DomainError } from './errors.js';

/** The only place that says which transitions exist. */
export type OrderAction = 'join' | 'cancel' | 'expire' | 'complete';

const TRANSITIONS: Record<OrderAction, { from: OrderStatus; to: OrderStatus }> = {
  join: { from: 'pending', to: 'matched' },
  cancel: { from: 'pending', to: 'cancelled' },
  expire: { from: 'pending', to: 'expired' },
  complete: { from: 'matched', to: 'completed' },
};

export function transition(action: OrderAction): { from: OrderStatus; to: OrderStatus } {
  return TRANSITIONS[action];
}

export interface OrderClock {
  status: OrderStatus;
  expiresAt: Date;
}

/**
 * Why `action` cannot apply to an order in this state, as a DomainError; null when it can.
 * Used to classify a compare-and-set that changed no row.
 */
export function whyNot(action: OrderAction, order: OrderClock, now: Date): DomainError | null {
  const { from } = TRANSITIONS[action];
  if (order.status !== from) {
    return new DomainError(
      from === 'pending' ? 'order_not_pending' : 'order_not_matched',
      `Cannot ${action} an order that is ${order.status}.`,
    );
  }
  const overdue = order.expiresAt.getTime() <= now.getTime();
  if ((action === 'join' || action === 'cancel') && overdue) {
    return new DomainError('order_expired', `The order expired at ${order.expiresAt.toISOString()}.`);
  }
  if (action === 'expire' && !overdue) {
    return new DomainError('order_not_yet_expired', `The order expires at ${order.expiresAt.toISOString()}.`);
  }
  return null;
}

/** Who acts: a signed-in user, or a sweeper of this service. */
export type UserActor = { kind: 'user'; userId: string };
export type Actor = UserActor | { kind: 'system' };

/**
 * Who may take an action: cancel is the creator's, complete a participant's (or the delivery
 * sweeper's); expire is anyone's once overdue; join is anyone's but the creator's (checked as 422).
 */
export function actorRule(action: OrderAction, actor: Actor): 'creator' | 'participant' | 'anyone' {
  if (actor.kind === 'system') return 'anyone';
  if (action === 'cancel') return 'creator';
  if (action === 'complete') return 'participant';
  return 'anyone';
}

export function mayAct(action: OrderAction, actor: Actor, order: { creator_id: string; joiner_id: string | null }): boolean {
  const rule = actorRule(action, actor);
  if (rule === 'anyone' || actor.kind === 'system') return true;
  if (rule === 'creator') return order.creator_id === actor.userId;
  return order.creator_id === actor.userId || order.joiner_id === actor.userId;
}
