import { describe, expect, it } from 'vitest';
import { ORDER_STATUSES, type OrderStatus } from '../../src/domain/kinds.js';
import { DomainError } from '../../src/domain/errors.js';
import { actorRule, mayAct, transition, whyNot, type Actor, type OrderAction } from '../../src/domain/order-state.js';

const STATUSES = ORDER_STATUSES;
const ACTIONS: OrderAction[] = ['join', 'cancel', 'expire', 'complete'];

const NOW = new Date('2030-01-01T12:00:00.000Z');
const LATER = new Date(NOW.getTime() + 60_000);
const EARLIER = new Date(NOW.getTime() - 60_000);

describe('transition table', () => {
  it('is exactly pending→matched, pending→cancelled, pending→expired, matched→completed', () => {
    expect(Object.fromEntries(ACTIONS.map((a) => [a, transition(a)]))).toEqual({
      join: { from: 'pending', to: 'matched' },
      cancel: { from: 'pending', to: 'cancelled' },
      expire: { from: 'pending', to: 'expired' },
      complete: { from: 'matched', to: 'completed' },
    });
  });

  it('has no way out of a final state', () => {
    const sources = new Set(ACTIONS.map((a) => transition(a).from));
    for (const final of ['completed', 'cancelled', 'expired'] as const) expect(sources.has(final)).toBe(false);
  });
});

describe('whyNot', () => {
  // [action, status, clock] → expected code (null = allowed). The clock is expires_at relative to now.
  const cases: [OrderAction, OrderStatus, 'before expiry' | 'after expiry', string | null][] = [];
  for (const action of ACTIONS) {
    for (const status of STATUSES) {
      for (const clock of ['before expiry', 'after expiry'] as const) {
        const { from } = transition(action);
        let expected: string | null;
        if (status !== from) expected = from === 'pending' ? 'order_not_pending' : 'order_not_matched';
        else if ((action === 'join' || action === 'cancel') && clock === 'after expiry') expected = 'order_expired';
        else if (action === 'expire' && clock === 'before expiry') expected = 'order_not_yet_expired';
        else expected = null;
        cases.push([action, status, clock, expected]);
      }
    }
  }

  it.each(cases)('%s on a %s order %s → %s', (action, status, clock, expected) => {
    const order = { status, expiresAt: clock === 'before expiry' ? LATER : EARLIER };
    const reason = whyNot(action, order, NOW);
    if (expected === null) {
      expect(reason).toBeNull();
    } else {
      expect(reason).toBeInstanceOf(DomainError);
      expect(reason!.code).toBe(expected);
      expect(reason!.detail.length).toBeGreaterThan(0);
    }
  });

  it('spot checks the ones the product depends on', () => {
    expect(whyNot('join', { status: 'pending', expiresAt: LATER }, NOW)).toBeNull();
    expect(whyNot('join', { status: 'matched', expiresAt: LATER }, NOW)?.code).toBe('order_not_pending');
    expect(whyNot('complete', { status: 'pending', expiresAt: LATER }, NOW)?.code).toBe('order_not_matched');
    // A matched order can be completed after its (joining) deadline: expiry is about waiting for a joiner.
    expect(whyNot('complete', { status: 'matched', expiresAt: EARLIER }, NOW)).toBeNull();
    expect(whyNot('expire', { status: 'pending', expiresAt: EARLIER }, NOW)).toBeNull();
  });

  it('treats expires_at == now as expired: no join or cancel, expire allowed', () => {
    const order = { status: 'pending' as const, expiresAt: NOW };
    expect(whyNot('join', order, NOW)?.code).toBe('order_expired');
    expect(whyNot('cancel', order, NOW)?.code).toBe('order_expired');
    expect(whyNot('expire', order, NOW)).toBeNull();
    // One millisecond earlier it is still joinable and not expirable.
    const justBefore = new Date(NOW.getTime() - 1);
    expect(whyNot('join', order, justBefore)).toBeNull();
    expect(whyNot('expire', order, justBefore)?.code).toBe('order_not_yet_expired');
  });
});

/** Joinable: whyNot('join') has nothing against it. */
const joinable = (order: { status: OrderStatus; expiresAt: Date }, now: Date) => whyNot('join', order, now) === null;

describe('joinable', () => {
  it('is true only for a pending order strictly before expires_at', () => {
    const expiresAt = NOW;
    expect(joinable({ status: 'pending', expiresAt }, new Date(NOW.getTime() - 1))).toBe(true);
    expect(joinable({ status: 'pending', expiresAt }, NOW)).toBe(false);
    expect(joinable({ status: 'pending', expiresAt }, new Date(NOW.getTime() + 1))).toBe(false);
  });

  it('is false for every other status, however far the deadline', () => {
    for (const status of STATUSES.filter((s) => s !== 'pending')) {
      expect(joinable({ status, expiresAt: LATER }, NOW)).toBe(false);
    }
  });
});

describe('actorRule and mayAct', () => {
  const CREATOR = '00000000-0000-4000-8000-000000000001';
  const JOINER = '00000000-0000-4000-8000-000000000002';
  const STRANGER = '00000000-0000-4000-8000-000000000003';
  const user = (userId: string): Actor => ({ kind: 'user', userId });
  const system: Actor = { kind: 'system' };

  it('cancel is the creator’s, complete a participant’s, join and expire anyone’s', () => {
    expect(actorRule('cancel', user(STRANGER))).toBe('creator');
    expect(actorRule('complete', user(STRANGER))).toBe('participant');
    expect(actorRule('join', user(STRANGER))).toBe('anyone');
    expect(actorRule('expire', user(STRANGER))).toBe('anyone');
  });

  it('lets the system (sweepers) do anything', () => {
    for (const action of ACTIONS) {
      expect(actorRule(action, system)).toBe('anyone');
      expect(mayAct(action, system, { creator_id: CREATOR, joiner_id: null })).toBe(true);
    }
  });

  const matched = { creator_id: CREATOR, joiner_id: JOINER };
  const pending = { creator_id: CREATOR, joiner_id: null };
  const table: [OrderAction, string, typeof matched | typeof pending, boolean][] = [
    ['cancel', CREATOR, pending, true],
    ['cancel', STRANGER, pending, false],
    ['cancel', JOINER, matched, false],
    ['complete', CREATOR, matched, true],
    ['complete', JOINER, matched, true],
    ['complete', STRANGER, matched, false],
    ['complete', STRANGER, pending, false],
    ['join', STRANGER, pending, true],
    // Joining your own order is refused later as 422 own_order, not as "not allowed to act".
    ['join', CREATOR, pending, true],
    ['expire', STRANGER, pending, true],
    ['expire', CREATOR, pending, true],
  ];

  it.each(table)('%s by %s on %o → %s', (action, userId, order, allowed) => {
    expect(mayAct(action, user(userId), order)).toBe(allowed);
  });
});
