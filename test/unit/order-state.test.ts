import { describe, expect, it } from 'vitest';
import { ORDER_STATUSES, type OrderStatus } from '../../src/domain/kinds.js';
import { DomainError } from '../../src/domain/errors.js';
import {
  TRANSITIONS,
  actorRule,
  mayAct,
  rowFor,
  transitionOf,
  transitionsOf,
  whyNot,
  type Actor,
  type OrderAction,
  type OrderParties,
} from '../../src/domain/order-state.js';

const STATUSES = ORDER_STATUSES;
const ACTIONS: OrderAction[] = ['join', 'cancel', 'expire', 'accept', 'reject', 'ready', 'pick_up', 'deliver'];
const FINAL: OrderStatus[] = ['completed', 'cancelled', 'expired', 'rejected'];

const NOW = new Date('2030-01-01T12:00:00.000Z');
const LATER = new Date(NOW.getTime() + 60_000);
const EARLIER = new Date(NOW.getTime() - 60_000);

describe('transition table', () => {
  it('is exactly the lifecycle: nothing else, ever', () => {
    expect(TRANSITIONS.map((t) => `${t.action}: ${t.from} → ${t.to} (${t.who}, ${t.money})`)).toEqual([
      'join: pending → matched (anyone, charge_joiner)',
      'cancel: pending → cancelled (creator, refund_creator)',
      'cancel: matched → cancelled (participant, refund_both)',
      'expire: pending → expired (anyone, refund_creator)',
      'accept: matched → accepted (store_staff, none)',
      'reject: matched → rejected (store_staff, refund_both)',
      'ready: accepted → ready (store_staff, none)',
      'pick_up: ready → picked_up (rider, none)',
      'deliver: picked_up → completed (order_rider, pay_store)',
    ]);
  });

  it('has no way out of a final state, and only delivery completes an order', () => {
    const sources = new Set(TRANSITIONS.map((t) => t.from));
    for (const final of FINAL) expect(sources.has(final)).toBe(false);
    expect(TRANSITIONS.filter((t) => t.to === 'completed').map((t) => t.action)).toEqual(['deliver']);
  });

  it('gives the rows of one action distinct starting states', () => {
    for (const action of ACTIONS) {
      const froms = transitionsOf(action).map((t) => t.from);
      expect(new Set(froms).size).toBe(froms.length);
    }
  });
});

describe('whyNot', () => {
  // [action, status, clock] → expected code (null = allowed). The clock is expires_at and accept_by relative to now.
  const cases: [OrderAction, OrderStatus, 'before deadlines' | 'after deadlines', string | null][] = [];
  for (const action of ACTIONS) {
    for (const status of STATUSES) {
      for (const clock of ['before deadlines', 'after deadlines'] as const) {
        const row = rowFor(action, status);
        let expected: string | null;
        if (!row) expected = transitionOf(action).wrongState;
        else if (row.clock === 'before_expiry' && clock === 'after deadlines') expected = 'order_expired';
        else if (row.clock === 'after_expiry' && clock === 'before deadlines') expected = 'order_not_yet_expired';
        else if (row.clock === 'before_accept_by' && clock === 'after deadlines') expected = 'accept_deadline_passed';
        else expected = null;
        cases.push([action, status, clock, expected]);
      }
    }
  }

  it.each(cases)('%s on a %s order %s → %s', (action, status, clock, expected) => {
    const at = clock === 'before deadlines' ? LATER : EARLIER;
    const reason = whyNot(action, { status, expiresAt: at, acceptBy: at }, NOW);
    if (expected === null) {
      expect(reason).toBeNull();
    } else {
      expect(reason).toBeInstanceOf(DomainError);
      expect(reason!.code).toBe(expected);
      expect(reason!.detail.length).toBeGreaterThan(0);
    }
  });

  it('spot checks the ones the product depends on', () => {
    const pending = { status: 'pending' as const, expiresAt: LATER, acceptBy: null };
    expect(whyNot('join', pending, NOW)).toBeNull();
    expect(whyNot('join', { ...pending, status: 'matched' }, NOW)?.code).toBe('order_not_pending');
    // Either participant may cancel a matched order, past its joining deadline too, until the store accepts.
    expect(whyNot('cancel', { status: 'matched', expiresAt: EARLIER, acceptBy: LATER }, NOW)).toBeNull();
    expect(whyNot('cancel', { status: 'accepted', expiresAt: EARLIER, acceptBy: LATER }, NOW)?.code).toBe('order_not_cancellable');
    // Pick up an unaccepted order: 409.
    expect(whyNot('pick_up', { status: 'matched', expiresAt: LATER, acceptBy: LATER }, NOW)?.code).toBe('order_not_ready');
    // Past accept_by the store can no longer accept, but may still reject (as the sweeper would).
    expect(whyNot('accept', { status: 'matched', expiresAt: LATER, acceptBy: NOW }, NOW)?.code).toBe('accept_deadline_passed');
    expect(whyNot('reject', { status: 'matched', expiresAt: LATER, acceptBy: EARLIER }, NOW)).toBeNull();
    expect(whyNot('expire', { ...pending, expiresAt: EARLIER }, NOW)).toBeNull();
  });

  it('treats expires_at == now as expired: no join or cancel, expire allowed', () => {
    const order = { status: 'pending' as const, expiresAt: NOW, acceptBy: null };
    expect(whyNot('join', order, NOW)?.code).toBe('order_expired');
    expect(whyNot('cancel', order, NOW)?.code).toBe('order_expired');
    expect(whyNot('expire', order, NOW)).toBeNull();
    // One millisecond earlier it is still joinable and not expirable.
    const justBefore = new Date(NOW.getTime() - 1);
    expect(whyNot('join', order, justBefore)).toBeNull();
    expect(whyNot('expire', order, justBefore)?.code).toBe('order_not_yet_expired');
  });
});

describe('actorRule and mayAct', () => {
  const CREATOR = '00000000-0000-4000-8000-000000000001';
  const JOINER = '00000000-0000-4000-8000-000000000002';
  const STRANGER = '00000000-0000-4000-8000-000000000003';
  const STAFF = '00000000-0000-4000-8000-000000000004';
  const RIDER = '00000000-0000-4000-8000-000000000005';
  const OTHER_RIDER = '00000000-0000-4000-8000-000000000006';
  const STORE = '00000000-0000-4000-8000-0000000000aa';
  const roles: Record<string, { staffOf: string[]; rider: boolean }> = {
    [STAFF]: { staffOf: [STORE], rider: false },
    [RIDER]: { staffOf: [], rider: true },
    [OTHER_RIDER]: { staffOf: [], rider: true },
  };
  const user = (userId: string): Actor => ({ kind: 'user', userId, roles: roles[userId] });
  const system: Actor = { kind: 'system' };

  it('lets the system (sweepers) do anything', () => {
    for (const row of TRANSITIONS) expect(actorRule(row, system)).toBe('anyone');
    for (const action of ACTIONS) {
      expect(mayAct(action, system, { status: 'pending', creator_id: CREATOR, joiner_id: null, store_id: STORE, rider_id: null })).toBe(
        true,
      );
    }
  });

  const at = (status: OrderStatus, rider_id: string | null = null): OrderParties => ({
    status,
    creator_id: CREATOR,
    joiner_id: status === 'pending' ? null : JOINER,
    store_id: STORE,
    rider_id,
  });
  const table: [OrderAction, string, OrderParties, boolean][] = [
    ['cancel', CREATOR, at('pending'), true],
    ['cancel', STRANGER, at('pending'), false],
    ['cancel', CREATOR, at('matched'), true],
    ['cancel', JOINER, at('matched'), true],
    ['cancel', STRANGER, at('matched'), false],
    ['cancel', STAFF, at('matched'), false],
    ['join', STRANGER, at('pending'), true],
    // Joining your own order is refused later as 422 own_order, not as "not allowed to act".
    ['join', CREATOR, at('pending'), true],
    ['expire', STRANGER, at('pending'), true],
    ['accept', STAFF, at('matched'), true],
    ['accept', CREATOR, at('matched'), false],
    ['accept', RIDER, at('matched'), false],
    ['reject', STAFF, at('matched'), true],
    ['reject', JOINER, at('matched'), false],
    ['ready', STAFF, at('accepted'), true],
    ['ready', RIDER, at('accepted'), false],
    ['pick_up', RIDER, at('ready'), true],
    ['pick_up', STAFF, at('ready'), false],
    ['pick_up', CREATOR, at('ready'), false],
    // A rider who lost the race may act in principle: they are told 412/409, not 403.
    ['pick_up', OTHER_RIDER, at('picked_up', RIDER), true],
    ['deliver', RIDER, at('picked_up', RIDER), true],
    ['deliver', OTHER_RIDER, at('picked_up', RIDER), false],
    ['deliver', CREATOR, at('picked_up', RIDER), false],
  ];

  it.each(table)('%s by %s on %o → %s', (action, userId, order, allowed) => {
    expect(mayAct(action, user(userId), order)).toBe(allowed);
  });
});
