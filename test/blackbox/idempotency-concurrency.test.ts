/**
 * Duplicates that arrive together run once: 20 identical requests (same user, same key, same
 * body) fired at once, split across two server instances on one database, have exactly one
 * effect; every answer is that execution's answer (replayed) or 409 with Retry-After; never a 5xx.
 *
 * Each burst runs twice: as it comes, and "held" — the test holds a lock on the row the action
 * writes until all 20 requests are waiting on it inside their transactions, past the replay
 * pre-read, so every duplicate has to be resolved at the key claim (the hardest case).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import {
  actor,
  bodyText,
  demoStore,
  grantThen,
  ledgerOf,
  orderRow,
  ordersOf,
  sameUserOn,
  SIGNUP_GRANT,
  SPLIT_CREATOR_SHARE,
  SPLIT_JOINER_SHARE,
  splitOrderInput,
  type Actor,
  type DemoStore,
} from '../support/idempotency.js';
import { openOrder } from '../support/orders.js';
import { startServer, type RunningServer } from '../support/server.js';
import { useDatabase } from '../support/use-server.js';
import { expectLedgerBalanced, newKey } from '../support/world.js';
import { DATABASE_APPLICATION_NAME } from '../../src/db/database.js';

const DUPLICATES = 20;

const fresh = useDatabase();
let servers: RunningServer[];
let store: DemoStore;

beforeAll(async () => {
  // Pools of 10 so all 20 requests can wait inside a transaction at once; lock waits long enough
  // to outlast the held phase (a request that still runs out gets 409 + Retry-After, which is allowed).
  const env = { DB_POOL_MAX: '10', LOCK_WAIT_MS: '15000' };
  servers = await Promise.all([startServer(fresh.db.url, env), startServer(fresh.db.url, env)]);
  store = await demoStore((await actor(servers[0].baseUrl, 'Scout')).client);
});
afterAll(async () => {
  await Promise.all((servers ?? []).map((s) => s.stop()));
});

/** The same user on both instances: request i goes to instance i % 2. */
async function onBothInstances(name: string): Promise<Actor[]> {
  const first = await actor(servers[0].baseUrl, name);
  return [first, sameUserOn(servers[1].baseUrl, first)];
}

interface Answer {
  status: number;
  replayed: string | null;
  retryAfter: string | null;
  etag: string | null;
  location: string | null;
  text: string;
}

type Hold = { table: 'users' | 'orders'; id: string } | undefined;

/**
 * Fires every request before awaiting any, alternating instances, and collects what came back.
 * With a hold, the row is locked first and released only once every request waits on a lock
 * inside its transaction (none may have answered by then: the requests really overlap).
 */
async function fireAtOnce(
  users: Actor[],
  send: (user: Actor, i: number) => Promise<{ response: Response }>,
  hold: Hold,
): Promise<Answer[]> {
  let settled = 0;
  const fire = () =>
    Array.from({ length: DUPLICATES }, (_, i) => {
      const user = users[i % users.length];
      return send(user, i).then(({ response }) => {
        settled++;
        return {
          status: response.status,
          replayed: response.headers.get('idempotent-replayed'),
          retryAfter: response.headers.get('retry-after'),
          etag: response.headers.get('etag'),
          location: response.headers.get('location'),
          text: bodyText(response),
        };
      });
    });
  if (!hold) return Promise.all(fire());

  let pending: Promise<Answer>[] = [];
  await fresh.db.sql.begin(async (tx) => {
    // NO KEY UPDATE: the action's own update of the row waits; foreign-key checks against it do not.
    await tx`SELECT id FROM ${tx(hold.table)} WHERE id = ${hold.id} FOR NO KEY UPDATE`;
    pending = fire();
    let waiting = 0;
    await eventually(
      async () => {
        [{ waiting }] = await fresh.db.sql`
          SELECT count(*)::int AS waiting FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = ${DATABASE_APPLICATION_NAME} AND wait_event_type = 'Lock'`;
        return waiting + settled >= DUPLICATES;
      },
      () => `only ${waiting} requests waiting and ${settled} answered`,
      { timeoutMs: 60_000 },
    );
    // Nothing answered before the release: all of them were inside their transactions at once.
    expect({ waiting, settled }).toEqual({ waiting: DUPLICATES, settled: 0 });
  });
  return Promise.all(pending);
}

/**
 * Exactly one answer is the execution itself (no replay header); every other success is its replay
 * (same status, body, ETag, Location); everything else is 409 + Retry-After; nothing is a 5xx.
 */
function expectOneExecution(answers: Answer[], successStatus: number): Answer {
  expect(answers.filter((a) => a.status >= 500)).toEqual([]);
  const successes = answers.filter((a) => a.status === successStatus);
  const busy = answers.filter((a) => a.status !== successStatus);
  for (const answer of busy) {
    expect(answer.status).toBe(409);
    expect(answer.retryAfter).toMatch(/^\d+$/);
    expect(JSON.parse(answer.text)).toMatchObject({ code: 'request_in_progress' });
  }
  const executions = successes.filter((a) => a.replayed === null);
  expect(executions).toHaveLength(1);
  const [execution] = executions;
  for (const replay of successes.filter((a) => a !== execution)) {
    expect(replay).toEqual({ ...execution, replayed: 'true' });
  }
  return execution;
}

describe.each(['as they come', 'held'] as const)('20 identical requests at once over two instances, %s', (mode) => {
  it('POST /orders: one order, one charge', async () => {
    const users = await onBothInstances('Eager');
    const key = newKey();
    const body = splitOrderInput(store);
    const answers = await fireAtOnce(
      users,
      (u) => u.client.POST('/orders', { params: { header: { 'Idempotency-Key': key } }, body }),
      mode === 'held' ? { table: 'users', id: users[0].user.id } : undefined,
    );

    const execution = expectOneExecution(answers, 201);
    const created = JSON.parse(execution.text) as { id: string };
    expect(execution.location).toBe(`/orders/${created.id}`);
    expect(await ordersOf(fresh.db.sql, users[0].user.id)).toEqual([created.id]);
    expect(await ledgerOf(fresh.db.sql, users[0].user.id)).toEqual(
      grantThen({ kind: 'order_charge', amount: -SPLIT_CREATOR_SHARE, order_id: created.id }),
    );

    // Afterwards, on either instance, the key replays that one execution.
    for (const user of users) {
      const late = await user.client.POST('/orders', { params: { header: { 'Idempotency-Key': key } }, body });
      expect(late.response.headers.get('idempotent-replayed')).toBe('true');
      expect(bodyText(late.response)).toBe(execution.text);
    }
    await expectLedgerBalanced(fresh.db.sql);
  });

  it('POST /orders/{id}/join: one match, one charge of the joiner', async () => {
    const creator = await actor(servers[0].baseUrl, 'Creator');
    const joiners = await onBothInstances('Joiner');
    const { order, etag } = await openOrder(creator, splitOrderInput(store));
    const key = newKey();
    const answers = await fireAtOnce(
      joiners,
      (u) =>
        u.client.POST('/orders/{orderId}/join', {
          params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': key } },
          body: {},
        }),
      mode === 'held' ? { table: 'orders', id: order.id } : undefined,
    );

    const execution = expectOneExecution(answers, 200);
    expect(execution.etag).toBe('"v2"');
    expect(JSON.parse(execution.text)).toMatchObject({ status: 'matched', joiner_id: joiners[0].user.id });
    expect(await orderRow(fresh.db.sql, order.id)).toMatchObject({ status: 'matched', version: 2, joiner_id: joiners[0].user.id });
    expect(await ledgerOf(fresh.db.sql, joiners[0].user.id)).toEqual(
      grantThen({ kind: 'order_charge', amount: -SPLIT_JOINER_SHARE, order_id: order.id }),
    );
    const [{ notes }] = await fresh.db
      .sql`SELECT count(*)::int AS notes FROM notifications WHERE order_id = ${order.id} AND kind = 'order_matched'`;
    expect(notes).toBe(2);
    await expectLedgerBalanced(fresh.db.sql);
  });

  it('POST /users/me/credit/top-ups: one credit', async () => {
    const users = await onBothInstances('Saver');
    const key = newKey();
    const answers = await fireAtOnce(
      users,
      (u) => u.client.POST('/users/me/credit/top-ups', { params: { header: { 'Idempotency-Key': key } }, body: { amount: 10_000 } }),
      mode === 'held' ? { table: 'users', id: users[0].user.id } : undefined,
    );

    const execution = expectOneExecution(answers, 201);
    expect(JSON.parse(execution.text)).toMatchObject({ credit: SIGNUP_GRANT + 10_000, entry: { kind: 'top_up', amount: 10_000 } });
    expect(await ledgerOf(fresh.db.sql, users[0].user.id)).toEqual(grantThen({ kind: 'top_up', amount: 10_000, order_id: null }));
    const me = await users[1].client.GET('/users/me');
    expect(me.data!.credit).toBe(SIGNUP_GRANT + 10_000);
    await expectLedgerBalanced(fresh.db.sql);
  });
});

describe('one key, different requests, at once', () => {
  it('one of them runs; a request like it gets its replay, every other one 422 (or 409); one credit only', async () => {
    const users = await onBothInstances('Fickle');
    const key = newKey();
    const amountOf = (i: number) => 1_000 * ((i % 4) + 1);
    // Held like above: all 20 are inside their transactions before any may finish.
    const answers = await fireAtOnce(
      users,
      (u, i) =>
        u.client.POST('/users/me/credit/top-ups', { params: { header: { 'Idempotency-Key': key } }, body: { amount: amountOf(i) } }),
      { table: 'users', id: users[0].user.id },
    );

    expect(answers.filter((a) => a.status >= 500)).toEqual([]);
    const executions = answers.filter((a) => a.status === 201 && a.replayed === null);
    expect(executions).toHaveLength(1);
    const winner = JSON.parse(executions[0].text) as { credit: number; entry: { amount: number } };
    answers.forEach((answer, i) => {
      if (answer === executions[0] || answer.status === 409) return;
      if (amountOf(i) === winner.entry.amount) {
        expect(answer).toEqual({ ...executions[0], replayed: 'true' });
      } else {
        expect(answer.status).toBe(422);
        expect(JSON.parse(answer.text)).toMatchObject({ code: 'idempotency_key_reused' });
      }
    });
    expect(await ledgerOf(fresh.db.sql, users[0].user.id)).toEqual(
      grantThen({ kind: 'top_up', amount: winner.entry.amount, order_id: null }),
    );
    expect(winner.credit).toBe(SIGNUP_GRANT + winner.entry.amount);
    await expectLedgerBalanced(fresh.db.sql);
  });
});
