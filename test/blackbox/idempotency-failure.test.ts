/**
 * A key and its effect are committed together or not at all, whatever fails in the middle of the
 * transaction, and a retry with the same key then runs exactly once. The failures are injected
 * with real mechanisms (no mocks): the test holds a row lock so the service's request blocks
 * inside its transaction after its first writes, then terminates that backend, kills the server
 * process, or lets the lock wait run out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import {
  actor,
  demoStore,
  expectReplayOf,
  grantThen,
  keyRow,
  ledgerOf,
  orderRow,
  ordersOf,
  sameUserOn,
  SIGNUP_GRANT,
  SPLIT_CREATOR_SHARE,
  SPLIT_JOINER_SHARE,
  splitOrderInput,
  type DemoStore,
} from '../support/idempotency.js';
import { openOrder } from '../support/orders.js';
import { expectProblem, sdkAnswer } from '../support/problems.js';
import { startServer, type RunningServer } from '../support/server.js';
import { useDatabase } from '../support/use-server.js';
import { expectLedgerBalanced, newKey } from '../support/world.js';
import { DATABASE_APPLICATION_NAME } from '../../src/db/database.js';

const fresh = useDatabase();
/** Waits on locks for up to a minute: only the test ends its wait. */
let patient: RunningServer;
/** Gives up on a lock after 100 ms: 409 + Retry-After. */
let hasty: RunningServer;
let store: DemoStore;

beforeAll(async () => {
  [patient, hasty] = await Promise.all([
    startServer(fresh.db.url, { LOCK_WAIT_MS: '60000', STATEMENT_TIMEOUT_MS: '60000', DB_POOL_MAX: '4' }),
    startServer(fresh.db.url, { LOCK_WAIT_MS: '100', DB_POOL_MAX: '4' }),
  ]);
  store = await demoStore((await actor(patient.baseUrl, 'Scout')).client);
});
afterAll(async () => {
  await Promise.all([patient?.stop(), hasty?.stop()]);
});

/**
 * Runs `during` while this test holds `FOR NO KEY UPDATE` on a user row: the service's balance
 * update waits on it, while foreign-key checks against the row (KEY SHARE) still pass, so the
 * request gets past its first writes before it blocks. Nothing is changed; the lock ends with it.
 */
async function whileUserRowLocked<T>(userId: string, during: (lockHolderPid: number) => Promise<T>): Promise<T> {
  let result: T;
  await fresh.db.sql.begin(async (tx) => {
    const [{ pid }] = await tx<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
    await tx`SELECT id FROM users WHERE id = ${userId} FOR NO KEY UPDATE`;
    result = await during(pid);
  });
  return result!;
}

/**
 * Runs `during` while this test holds `FOR UPDATE` on a store row: reading the store goes on, but
 * the foreign-key checks of a new order of the store (KEY SHARE, at the end of the statement that
 * inserted the order, its items and its charge) wait on it. A create locks its creator's row
 * itself first, so a user-row lock would stop it before any write.
 */
async function whileStoreRowLocked<T>(storeId: string, during: (lockHolderPid: number) => Promise<T>): Promise<T> {
  let result: T;
  await fresh.db.sql.begin(async (tx) => {
    const [{ pid }] = await tx<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
    await tx`SELECT id FROM stores WHERE id = ${storeId} FOR UPDATE`;
    result = await during(pid);
  });
  return result!;
}

/** The service's backend that waits on the test's lock (polls until it shows up). */
function blockedBackend(lockHolderPid: number): Promise<{ pid: number; query: string }> {
  return eventually(
    async () => {
      const [backend] = await fresh.db.sql<{ pid: number; query: string }[]>`
      SELECT pid, query FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = ${DATABASE_APPLICATION_NAME}
        AND wait_event_type = 'Lock' AND ${lockHolderPid} = ANY (pg_blocking_pids(pid))`;
      return backend;
    },
    () => 'the service never blocked on the test lock',
  );
}

async function backendGone(pid: number): Promise<void> {
  await eventually(
    async () => {
      const [{ alive }] = await fresh.db.sql`SELECT count(*)::int AS alive FROM pg_stat_activity WHERE pid = ${pid}`;
      return alive === 0;
    },
    () => `backend ${pid} did not go away`,
  );
}

/**
 * Sends the request while the user's row is locked and, once the service's backend waits on that
 * lock (inside its transaction, in a statement containing `waitingIn`), terminates the backend.
 * The answer must be 503 + Retry-After with nothing replayed.
 */
async function connectionKilledDuring(
  userId: string,
  send: () => Promise<{ response: Response; error?: unknown }>,
  waitingIn?: string,
  hold: typeof whileUserRowLocked = whileUserRowLocked,
) {
  const failed = await hold(userId, async (holder) => {
    const pending = send();
    const backend = await blockedBackend(holder);
    if (waitingIn) expect(backend.query).toContain(waitingIn);
    const [{ terminated }] = await fresh.db.sql`SELECT pg_terminate_backend(${backend.pid}) AS terminated`;
    expect(terminated).toBe(true);
    return pending;
  });
  expectProblem(sdkAnswer(failed), 503, 'database_unavailable');
  expect(failed.response.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(failed.response.headers.get('idempotent-replayed')).toBeNull();
}

describe('the database connection dies inside the transaction', () => {
  it('join: after the compare-and-set, before the charge — 503 + Retry-After, no key, no effect; the retry joins once', async () => {
    const creator = await actor(patient.baseUrl, 'Creator');
    const joiner = await actor(patient.baseUrl, 'Joiner');
    const { order, etag } = await openOrder(creator, splitOrderInput(store));
    const key = newKey();
    const join = () =>
      joiner.client.POST('/orders/{orderId}/join', {
        params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': key } },
      });

    // It waits to debit the joiner: the order row was already updated in its transaction.
    await connectionKilledDuring(joiner.user.id, join, 'INSERT INTO credit_ledger');
    expect(await keyRow(fresh.db.sql, joiner.user.id, key)).toBeUndefined();
    expect(await orderRow(fresh.db.sql, order.id)).toMatchObject({ status: 'pending', version: 1, joiner_id: null });
    expect(await ledgerOf(fresh.db.sql, joiner.user.id)).toEqual(grantThen());
    const [{ notes }] = await fresh.db.sql`SELECT count(*)::int AS notes FROM notifications WHERE order_id = ${order.id}`;
    expect(notes).toBe(0);

    // The same instance, the same key: the retry runs afresh, once.
    const retry = await join();
    expect(retry.response.status).toBe(200);
    expect(retry.response.headers.get('idempotent-replayed')).toBeNull();
    expect(retry.data).toMatchObject({ status: 'matched', version: 2, joiner_id: joiner.user.id });
    expectReplayOf(retry, await join());
    expect(await ledgerOf(fresh.db.sql, joiner.user.id)).toEqual(
      grantThen({ kind: 'order_charge', amount: -SPLIT_JOINER_SHARE, order_id: order.id }),
    );
    await expectLedgerBalanced(fresh.db.sql);
  });

  it('create: after the order row is inserted — 503, no order, no key; the retry creates one order', async () => {
    const creator = await actor(patient.baseUrl, 'Creator');
    const key = newKey();
    const create = () => creator.client.POST('/orders', { params: { header: { 'Idempotency-Key': key } }, body: splitOrderInput(store) });

    // Blocked by the store's row: the order, its items and the charge are written, their
    // foreign-key checks wait (pg_stat_activity shows the statement's first 1 kB: its order INSERT).
    await connectionKilledDuring(store.storeId, create, 'INSERT INTO orders', whileStoreRowLocked);
    expect(await keyRow(fresh.db.sql, creator.user.id, key)).toBeUndefined();
    expect(await ordersOf(fresh.db.sql, creator.user.id)).toEqual([]);

    const retry = await create();
    expect(retry.response.status).toBe(201);
    expect(retry.response.headers.get('idempotent-replayed')).toBeNull();
    expect(await ledgerOf(fresh.db.sql, creator.user.id)).toEqual(
      grantThen({ kind: 'order_charge', amount: -SPLIT_CREATOR_SHARE, order_id: retry.data!.id }),
    );
    await expectLedgerBalanced(fresh.db.sql);
  });

  it('the instance survives a lost connection and keeps serving on its pool', async () => {
    const user = await actor(patient.baseUrl, 'Survivor');
    const key = newKey();
    const topUp = () =>
      user.client.POST('/users/me/credit/top-ups', { params: { header: { 'Idempotency-Key': key } }, body: { amount: 4_000 } });
    await connectionKilledDuring(user.user.id, topUp);
    // Enough requests to go through every connection of the pool (DB_POOL_MAX=4) more than once.
    for (let i = 0; i < 12; i++) {
      const me = await user.client.GET('/users/me');
      expect(me.response.status).toBe(200);
      expect(me.data!.credit).toBe(SIGNUP_GRANT);
    }
    const retry = await topUp();
    expect(retry.response.status).toBe(201);
    expect(retry.data!.credit).toBe(SIGNUP_GRANT + 4_000);
    await expectLedgerBalanced(fresh.db.sql);
  });
});

describe('the server process dies inside the transaction', () => {
  it('SIGKILL while the top-up waits: PostgreSQL rolls it back, no key, no credit; another instance then runs it once', async () => {
    const doomed = await startServer(fresh.db.url, { LOCK_WAIT_MS: '60000', STATEMENT_TIMEOUT_MS: '60000', DB_POOL_MAX: '2' });
    const user = await actor(doomed.baseUrl, 'Orphan');
    const key = newKey();
    const body = { amount: 8_000 };

    const orphanPid = await whileUserRowLocked(user.user.id, async (holder) => {
      // Settles with the fetch error (the connection drops with the process), or undefined if it answered.
      const pending = user.client.POST('/users/me/credit/top-ups', { params: { header: { 'Idempotency-Key': key } }, body }).then(
        () => undefined,
        (error: unknown) => error,
      );
      const backend = await blockedBackend(holder);
      await doomed.kill();
      expect(await pending).toBeInstanceOf(Error);
      return backend.pid;
    });
    // Released, the orphaned backend finds its client gone and aborts its transaction.
    await backendGone(orphanPid);
    expect(await keyRow(fresh.db.sql, user.user.id, key)).toBeUndefined();
    expect(await ledgerOf(fresh.db.sql, user.user.id)).toEqual(grantThen());

    const survivor = sameUserOn(patient.baseUrl, user);
    const retry = await survivor.client.POST('/users/me/credit/top-ups', { params: { header: { 'Idempotency-Key': key } }, body });
    expect(retry.response.status).toBe(201);
    expect(retry.response.headers.get('idempotent-replayed')).toBeNull();
    expect(retry.data!.credit).toBe(SIGNUP_GRANT + 8_000);
    await expectLedgerBalanced(fresh.db.sql);
  });
});

describe('a lock wait that runs out', () => {
  it('is 409 + Retry-After and is not stored: the retry with the same key executes', async () => {
    const user = await actor(hasty.baseUrl, 'Blocked');
    const key = newKey();
    const topUp = () =>
      user.client.POST('/users/me/credit/top-ups', { params: { header: { 'Idempotency-Key': key } }, body: { amount: 3_000 } });

    const busy = await whileUserRowLocked(user.user.id, () => topUp());
    expectProblem(sdkAnswer(busy), 409, 'request_in_progress');
    expect(busy.response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await keyRow(fresh.db.sql, user.user.id, key)).toBeUndefined();
    expect(await ledgerOf(fresh.db.sql, user.user.id)).toEqual(grantThen());

    const retry = await topUp();
    expect(retry.response.status).toBe(201);
    expect(retry.response.headers.get('idempotent-replayed')).toBeNull();
    expect(retry.data!.credit).toBe(SIGNUP_GRANT + 3_000);
    await expectLedgerBalanced(fresh.db.sql);
  });

  it('a duplicate arriving on another instance while the first is in flight gets 409 + Retry-After, then the replay', async () => {
    const user = await actor(patient.baseUrl, 'Impatient');
    const elsewhere = sameUserOn(hasty.baseUrl, user);
    const key = newKey();
    const body = { amount: 6_000 };
    const send = (who: typeof user) =>
      who.client.POST('/users/me/credit/top-ups', { params: { header: { 'Idempotency-Key': key } }, body });

    const [first, duplicate] = await whileUserRowLocked(user.user.id, async (holder) => {
      const inFlight = send(user);
      await blockedBackend(holder);
      // The first request is inside its transaction, waiting; its duplicate cannot get an answer in time.
      const meanwhile = await send(elsewhere);
      return [inFlight, meanwhile] as const;
    });
    expectProblem(sdkAnswer(duplicate), 409, 'request_in_progress');
    expect(duplicate.response.headers.get('retry-after')).toMatch(/^\d+$/);

    const executed = await first;
    expect(executed.response.status).toBe(201);
    expect(executed.response.headers.get('idempotent-replayed')).toBeNull();
    expectReplayOf(executed, await send(elsewhere));
    expect((await ledgerOf(fresh.db.sql, user.user.id)).filter((r) => r.kind === 'top_up')).toEqual([
      { kind: 'top_up', amount: 6_000, order_id: null },
    ]);
    await expectLedgerBalanced(fresh.db.sql);
  });
});
