/**
 * An Idempotency-Key keeps the hot path lean: a first execution with one costs at most one
 * database round trip more than the same action without one, and a replay is one indexed read.
 *
 * Counted on the wire, not estimated: the service talks to PostgreSQL through the statement tap
 * (test/support/statement-tap.ts), which records every statement and every round trip. One pool
 * connection, so that statements are prepared once and reused (a connection preparing a statement
 * for the first time needs an extra round trip, which warm-up pays), and no background jobs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { actor, demoStore, splitOrderInput, staffActor, type Actor, type DemoStore } from '../support/idempotency.js';
import { openOrder } from '../support/orders.js';
import { isRevocationPoll, type CapturedStatement } from '../support/statement-tap.js';
import { useTappedServer } from '../support/use-server.js';
import { expectLedgerBalanced, newKey } from '../support/world.js';

// An answer of an order with its items passes 1 KiB, so its claim and the COMMIT leave in two
// writes (see answerHoldMs): held answers keep a busy machine from counting them as two trips.
const app = useTappedServer({ DB_POOL_MAX: '1', JOBS_ENABLED: 'false' }, { answerHoldMs: 25 });
let store: DemoStore;
let staff: Actor;

beforeAll(async () => {
  store = await demoStore((await actor(app.server.baseUrl, 'Scout')).client);
  staff = await staffActor(app.server.baseUrl, 'Cook', store.storeId);
});

/** A matched order (created and joined through the API by new users) with its ETag, ready for the store to accept. */
async function matchedOrder(): Promise<{ joiner: Actor; orderId: string; etag: string }> {
  const creator = await actor(app.server.baseUrl, 'Creator');
  const joiner = await actor(app.server.baseUrl, 'Joiner');
  const { order, etag } = await openOrder(creator, splitOrderInput(store));
  const joined = await joiner.client.POST('/orders/{orderId}/join', {
    params: { path: { orderId: order.id }, header: { 'Idempotency-Key': newKey(), 'If-Match': etag } },
    body: {},
  });
  expect(joined.response.status).toBe(200);
  return { joiner, orderId: order.id, etag: joined.response.headers.get('etag')! };
}

/** The store accepts: an action that takes a key optionally, so one request can be timed both ways. */
function accept({ orderId, etag }: { orderId: string; etag: string }, key?: string) {
  return staff.client.POST('/orders/{orderId}/accept', {
    params: { path: { orderId }, header: { 'If-Match': etag, ...(key === undefined ? {} : { 'Idempotency-Key': key }) } },
  });
}

/** What one request cost on the wire: its round trips and statements (the revocation poll left out). */
async function costOf(
  request: () => Promise<{ response: Response }>,
): Promise<{ status: number; roundTrips: number; statements: CapturedStatement[] }> {
  const roundTripsBefore = app.tap.roundTrips();
  const statementsBefore = app.tap.statements.length;
  const { response } = await request();
  const statements = app.tap.statements.slice(statementsBefore);
  const polls = statements.filter(isRevocationPoll).length;
  return {
    status: response.status,
    roundTrips: app.tap.roundTrips() - roundTripsBefore - polls,
    statements: statements.filter((s) => !isRevocationPoll(s)),
  };
}

const touchesKeys = (s: CapturedStatement) => /idempotency_keys/.test(s.sql);

describe('what an Idempotency-Key costs', () => {
  it('a first execution adds one round trip over the plain action; a replay is one indexed read', async () => {
    // Warm-up: every statement of both paths prepared on the one connection.
    for (const key of [undefined, newKey()]) {
      expect((await accept(await matchedOrder(), key)).response.status).toBe(200);
    }

    const plainOrder = await matchedOrder();
    const plain = await costOf(() => accept(plainOrder));
    const keyedOrder = await matchedOrder();
    const key = newKey();
    const keyed = await costOf(() => accept(keyedOrder, key));
    const replay = await costOf(() => accept(keyedOrder, key));

    expect([plain.status, keyed.status, replay.status]).toEqual([200, 200, 200]);
    expect(plain.statements.filter(touchesKeys)).toEqual([]);
    // The lookup before the transaction and the claim, which travels with the COMMIT.
    expect(keyed.statements.filter(touchesKeys).map((s) => s.sql.split(' ')[0]?.toLowerCase())).toEqual(['select', 'insert']);
    expect(keyed.roundTrips).toBeLessThanOrEqual(plain.roundTrips + 1);
    // How: BEGIN shares a round trip with the first statement, and the claim with the COMMIT.
    expect(plain.roundTrips).toBe(plain.statements.length - 1);
    expect(keyed.roundTrips).toBe(keyed.statements.length - 2);

    expect(replay.statements).toHaveLength(1);
    expect(replay.statements[0]!.sql).toMatch(/^select .* from "idempotency_keys" where "user_id" = \$1 and "key" = \$2$/);
    expect(replay.roundTrips).toBe(1);
    await expectLedgerBalanced(app.db.sql);
  });
});
