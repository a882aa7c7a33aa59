/**
 * Live status over two real instances on one database: every change of an order reaches both
 * participants, its rider and its store's staff on the other instance, in commit order; a resume
 * with Last-Event-ID misses nothing and repeats nothing, also when transactions commit out of id
 * order; tickets open one stream, once, within their minute; nobody follows what is not theirs; a
 * revoked session's stream ends; a SIGTERM ends an instance's streams cleanly and its clients
 * resume on the other; and a thousand streams opened and dropped leave nothing behind.
 */
import { get as httpGet } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoOrderClient } from '../../openapi/client.js';
import { eventually } from '../support/eventually.js';
import { listen, summary, type Listener } from '../support/events.js';
import { metricValue } from '../support/metrics.js';
import { deliveryAt, insertStore, joinOrder, openOrder, uniqueSpot, type TestStore } from '../support/orders.js';
import { startServer, TEST_METRICS_TOKEN, type RunningServer } from '../support/server.js';
import { useServer } from '../support/use-server.js';
import { expectMoneyConserved, newKey, signUp, signUpWithRoles, type TestUser } from '../support/world.js';
import { DATABASE_APPLICATION_NAME } from '../../src/db/database.js';

// A heartbeat a second (15 s in production), so that a test sees one.
const app = useServer({ EVENTS_POLL_MS: '50', EVENTS_HEARTBEAT_SECONDS: '1' });
let other: RunningServer;
let store: TestStore;
let staff: TestUser;
let rider: TestUser;

beforeAll(async () => {
  other = await startServer(app.db.url, { EVENTS_POLL_MS: '50', EVENTS_MAX_STREAMS_PER_USER: '1000' });
  store = await insertStore(app.db.sql, { minimum: 5000, tip: 2000, menus: { meal: 7000 } });
  staff = await signUpWithRoles(app.server.baseUrl, 'Cook', { staff_of: [store.id] });
  rider = await signUpWithRoles(app.server.baseUrl, 'Rider', { rider: true });
});
afterAll(async () => {
  await other?.stop();
});

const open: Listener[] = [];
async function follow(server: { baseUrl: string }, path: string, user: TestUser, lastEventId?: string): Promise<Listener> {
  const listener = await listen(server.baseUrl, path, { token: user.token, lastEventId });
  open.push(listener);
  return listener;
}
afterAll(async () => {
  await Promise.all(open.map((l) => l.close()));
});

const mine = '/users/me/events';
const storeQueue = () => `/stores/${store.id}/events`;

async function openAt(creator: TestUser) {
  return openOrder(creator, {
    store_id: store.id,
    split_type: 'split',
    items: [{ menu_id: store.menus.meal, quantity: 1 }],
    delivery: deliveryAt(uniqueSpot()),
  });
}

async function act(
  user: TestUser,
  action: 'accept' | 'reject' | 'ready' | 'pick-up' | 'deliver' | 'cancel',
  orderId: string,
  etag: string,
) {
  const { error, response } = await user.client.POST(`/orders/{orderId}/${action}`, {
    params: { path: { orderId }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
  });
  if (error) throw new Error(`${action}: ${response.status} ${error.code}`);
  return response.headers.get('ETag')!;
}

describe('events of every transition, on the other instance', () => {
  it('reach the creator, the joiner, the rider and the store, in order, with the ETag to act on', async () => {
    const creator = await signUp(app.server.baseUrl, 'Creator');
    const joiner = await signUp(app.server.baseUrl, 'Joiner');
    const streams = {
      creator: await follow(other, mine, creator),
      joiner: await follow(other, mine, joiner),
      rider: await follow(other, mine, rider),
      store: await follow(other, storeQueue(), staff),
    };
    const { order, etag } = await openAt(creator);
    const joined = await joinOrder(joiner, order.id, etag);
    let tag = await act(staff, 'accept', order.id, joined.etag);
    tag = await act(staff, 'ready', order.id, tag);
    tag = await act(rider, 'pick-up', order.id, tag);
    tag = await act(rider, 'deliver', order.id, tag);

    const id = order.id;
    const after = ['accepted v3', 'ready v4', 'picked_up v5', 'completed v6'];
    const kinds = ['order.accepted', 'order.ready', 'order.picked_up', 'order.delivered'];
    const lines = (list: string[]) => list.map((l, i) => `${kinds[i]} ${id} ${l}`);
    await streams.creator.waitForOrderEvents(6);
    await streams.joiner.waitForOrderEvents(5);
    await streams.rider.waitForOrderEvents(2);
    await streams.store.waitForOrderEvents(5);
    expect(summary(streams.creator.events)).toEqual([`order.created ${id} pending v1`, `order.matched ${id} matched v2`, ...lines(after)]);
    expect(summary(streams.joiner.events)).toEqual([`order.matched ${id} matched v2`, ...lines(after)]);
    expect(summary(streams.store.events)).toEqual([`order.matched ${id} matched v2`, ...lines(after)]);
    // The rider takes part from the pick-up on.
    expect(summary(streams.rider.events)).toEqual(lines(after).slice(2));
    const delivered = streams.creator.orderEvents().at(-1)!;
    expect(delivered.data.etag).toBe(tag);
    expect(Date.parse(delivered.data.at)).toBeGreaterThan(Date.now() - 60_000);
    await expectMoneyConserved(app.db.sql);
  });

  it('tell of cancellations, rejections and expiries with each refund, and keep a pending order from the store', async () => {
    const creator = await signUp(app.server.baseUrl, 'Creator');
    const joiner = await signUp(app.server.baseUrl, 'Joiner');
    const streams = {
      creator: await follow(other, mine, creator),
      joiner: await follow(other, mine, joiner),
      store: await follow(other, storeQueue(), staff),
    };
    const before = streams.store.orderEvents().length;
    const share = (o: { shares: { creator: number } }) => o.shares.creator;

    const cancelledPending = await openAt(creator);
    await act(creator, 'cancel', cancelledPending.order.id, cancelledPending.etag);
    const cancelledMatched = await openAt(creator);
    const m1 = await joinOrder(joiner, cancelledMatched.order.id, cancelledMatched.etag);
    await act(joiner, 'cancel', cancelledMatched.order.id, m1.etag);
    const rejected = await openAt(creator);
    const m2 = await joinOrder(joiner, rejected.order.id, rejected.etag);
    await act(staff, 'reject', rejected.order.id, m2.etag);
    const expired = await openAt(creator);
    await app.db.sql`UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = ${expired.order.id}`;
    const expiring = await creator.client.POST('/orders/{orderId}/expire', {
      params: { path: { orderId: expired.order.id }, header: { 'If-Match': expired.etag } },
    });
    expect(expiring.response.status).toBe(200);

    const c = share(cancelledPending.order);
    const joinerShare = m1.order.shares.joiner!;
    await streams.creator.waitForOrderEvents(14);
    expect(summary(streams.creator.events)).toEqual([
      `order.created ${cancelledPending.order.id} pending v1`,
      `order.cancelled ${cancelledPending.order.id} cancelled v2`,
      `order.refunded ${cancelledPending.order.id} cancelled v2 ${c}`,
      `order.created ${cancelledMatched.order.id} pending v1`,
      `order.matched ${cancelledMatched.order.id} matched v2`,
      `order.cancelled ${cancelledMatched.order.id} cancelled v3`,
      `order.refunded ${cancelledMatched.order.id} cancelled v3 ${c}`,
      `order.created ${rejected.order.id} pending v1`,
      `order.matched ${rejected.order.id} matched v2`,
      `order.rejected ${rejected.order.id} rejected v3`,
      `order.refunded ${rejected.order.id} rejected v3 ${c}`,
      `order.created ${expired.order.id} pending v1`,
      `order.expired ${expired.order.id} expired v2`,
      `order.refunded ${expired.order.id} expired v2 ${c}`,
    ]);
    await streams.joiner.waitForOrderEvents(6);
    expect(summary(streams.joiner.events)).toEqual([
      `order.matched ${cancelledMatched.order.id} matched v2`,
      `order.cancelled ${cancelledMatched.order.id} cancelled v3`,
      `order.refunded ${cancelledMatched.order.id} cancelled v3 ${joinerShare}`,
      `order.matched ${rejected.order.id} matched v2`,
      `order.rejected ${rejected.order.id} rejected v3`,
      `order.refunded ${rejected.order.id} rejected v3 ${joinerShare}`,
    ]);
    // The store hears of the two orders that reached its queue, and of nothing else (no refunds).
    await streams.store.waitForOrderEvents(before + 4);
    expect(summary(streams.store.events).slice(before)).toEqual([
      `order.matched ${cancelledMatched.order.id} matched v2`,
      `order.cancelled ${cancelledMatched.order.id} cancelled v3`,
      `order.matched ${rejected.order.id} matched v2`,
      `order.rejected ${rejected.order.id} rejected v3`,
    ]);
    await expectMoneyConserved(app.db.sql);
  });
});

describe('resuming', () => {
  it('with Last-Event-ID gets what was missed, then the live events: nothing skipped, nothing twice', async () => {
    const creator = await signUp(app.server.baseUrl, 'Creator');
    const joiner = await signUp(app.server.baseUrl, 'Joiner');
    const witness = await follow(app.server, mine, creator);
    const first = await follow(other, mine, creator);
    const a = await openAt(creator);
    await first.waitForOrderEvents(1);
    await first.close();
    // Missed while away: a join, a cancel with its refund, a new order.
    const ja = await joinOrder(joiner, a.order.id, a.etag);
    await act(creator, 'cancel', a.order.id, ja.etag);
    await openAt(creator);
    await witness.waitForOrderEvents(5);
    // Back, on the other instance, by the header; then one more change, live.
    const resumed = await follow(app.server, mine, creator, first.lastId());
    expect(resumed.events[0]).toMatchObject({ event: 'stream.opened', id: first.lastId(), data: { resumed: true } });
    await resumed.waitForOrderEvents(4);
    await openAt(creator);
    await witness.waitForOrderEvents(6);
    await resumed.waitForOrderEvents(5);
    expect([...summary(first.events), ...summary(resumed.events)]).toEqual(summary(witness.events));
    // The same by the query parameter, from the very start of the witness's stream.
    const opened = witness.events[0];
    expect(opened).toMatchObject({ event: 'stream.opened', retry: 3000, data: { resumed: false } });
    const fromStart = await listen(other.baseUrl, `${mine}?last_event_id=${'id' in opened ? opened.id : ''}`, { token: creator.token });
    open.push(fromStart);
    await fromStart.waitForOrderEvents(6);
    expect(summary(fromStart.events)).toEqual(summary(witness.events));
    await expectMoneyConserved(app.db.sql);
  });

  it('holds back a later id that committed first until the earlier transaction ends, and then delivers both in order', async () => {
    const user = await signUp(app.server.baseUrl, 'Watcher');
    const order = (await openAt(user)).order;
    const stream = await follow(other, mine, user);
    const insert = (tx: typeof app.db.sql) =>
      tx`INSERT INTO order_events (user_id, kind, order_id, status, version) VALUES (${user.user.id}, 'order.created', ${order.id}, 'pending', 1)
         RETURNING xid::text AS xid, id::text AS id`;
    // Transaction 1 takes its transaction id first; transaction 2 then writes a row, and 1 writes
    // one after it: 1's row has the later id. 2 commits first; 1 is still open.
    const one = await app.db.sql.reserve();
    const two = await app.db.sql.reserve();
    try {
      await one`BEGIN`;
      await one`SELECT pg_current_xact_id()`;
      await two`BEGIN`;
      const [written2] = await insert(two);
      const [written1] = await insert(one);
      expect(BigInt(written1.id)).toBeGreaterThan(BigInt(written2.id));
      await two`COMMIT`;
      // The reader polls every 50 ms: a dozen polls go by without either row.
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(stream.orderEvents()).toEqual([]);
      const cutOff = stream.lastId();
      await one`COMMIT`;
      await stream.waitForOrderEvents(2);
      // Position order: transaction 1's row first, though its id is the later one.
      expect(stream.orderEvents().map((e) => e.id)).toEqual([`${written1.xid}-${written1.id}`, `${written2.xid}-${written2.id}`]);
      // And a client that resumes from before them gets both, once.
      const resumed = await follow(app.server, mine, user, cutOff);
      await resumed.waitForOrderEvents(2);
      expect(resumed.orderEvents().map((e) => e.id)).toEqual(stream.orderEvents().map((e) => e.id));
    } finally {
      await one`ROLLBACK`.catch(() => {});
      await two`ROLLBACK`.catch(() => {});
      one.release();
      two.release();
    }
  });

  it('orders positions as numbers, not as their text (transaction 9 before 10, 99 before 100)', async () => {
    const user = await signUp(app.server.baseUrl, 'Digits');
    const order = (await openAt(user)).order;
    // Rows of long-finished transactions (their ids far below any running one), written in the
    // opposite order; only their positions say which comes first.
    for (const xid of ['100', '99', '10', '9'])
      await app.db.sql`INSERT INTO order_events (xid, user_id, kind, order_id, status, version)
                       VALUES (${xid}::xid8, ${user.user.id}, 'order.created', ${order.id}, 'pending', 1)`;
    const replayed = await follow(other, mine, user, '0-0');
    await replayed.waitForOrderEvents(5);
    expect(
      replayed
        .orderEvents()
        .map((e) => e.id.split('-')[0])
        .slice(0, 4),
    ).toEqual(['9', '10', '99', '100']);
    const head = await follow(app.server, mine, user);
    expect(BigInt(head.lastId().split('-')[0])).toBeGreaterThan(100n);
  });

  it('sends a comment line when nothing else is sent, so proxies keep an idle stream open', async () => {
    const user = await signUp(app.server.baseUrl, 'Idle');
    const stream = await rawStream(app.server.baseUrl, mine, user.token);
    await eventually(
      async () => stream.text().includes('\n\n: still here\n\n'),
      () => `no heartbeat in ${JSON.stringify(stream.text())}`,
      { timeoutMs: 5000 },
    );
    stream.drop();
  });

  it('from a position not yet written starts from now; a position this service never writes is a 400', async () => {
    const user = await signUp(app.server.baseUrl, 'Future');
    const stream = await follow(app.server, mine, user, '99999999999-99999999999');
    expect(stream.events[0]).toMatchObject({ event: 'stream.opened', data: { resumed: false } });
    await openAt(user);
    await stream.waitForOrderEvents(1);
    for (const bad of ['12', '1-2-3', '-1-2', '01-2', `${2n ** 64n}-1`, `1-${2n ** 63n}`]) {
      const response = await fetch(`${app.server.baseUrl}${mine}`, {
        headers: { Authorization: `Bearer ${user.token}`, 'Last-Event-ID': bad },
      });
      expect(response.status, bad).toBe(400);
      expect(await response.json()).toMatchObject({ code: 'validation_failed' });
    }
  });
});

describe('who may follow what', () => {
  it('a stream carries only its own user’s events, and a store’s only to its staff', async () => {
    const alice = await signUp(app.server.baseUrl, 'Alice');
    const bob = await signUp(app.server.baseUrl, 'Bob');
    const bobs = await follow(other, mine, bob);
    const alices = await follow(other, mine, alice);
    const alicesOrder = (await openAt(alice)).order;
    await alices.waitForOrderEvents(1);
    const bobsOrder = (await openAt(bob)).order;
    await bobs.waitForOrderEvents(1);
    // Each stream had the time to carry the other's event, had it been sent to it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(summary(alices.events)).toEqual([`order.created ${alicesOrder.id} pending v1`]);
    expect(summary(bobs.events)).toEqual([`order.created ${bobsOrder.id} pending v1`]);
    const refused = await fetch(`${app.server.baseUrl}${storeQueue()}`, { headers: { Authorization: `Bearer ${bob.token}` } });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'forbidden' });
    const none = await fetch(`${app.server.baseUrl}${mine}`);
    expect(none.status).toBe(401);
  });

  it('tickets open one stream, once, within their minute, while their session stands', async () => {
    const user = await signUp(app.server.baseUrl, 'Browser');
    const ticketOf = async () => {
      const { data, response } = await user.client.POST('/users/me/events/tickets');
      expect(response.status).toBe(200);
      expect(Date.parse(data!.expires_at) - Date.now()).toBeLessThanOrEqual(61_000);
      return data!.ticket;
    };
    const ticket = await ticketOf();
    // Kept as its SHA-256 only: the row is found by the hash, and no column holds the ticket.
    const rows = await app.db.sql`SELECT * FROM event_tickets WHERE ticket_hash = sha256(convert_to(${ticket}, 'UTF8'))`;
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows[0])).not.toContain(ticket);
    const stream = await listen(other.baseUrl, mine, { ticket });
    open.push(stream);
    await openAt(user);
    await stream.waitForOrderEvents(1);
    const again = await fetch(`${app.server.baseUrl}${mine}?ticket=${ticket}`);
    expect(again.status).toBe(401);
    expect(await again.json()).toMatchObject({ code: 'ticket_invalid' });

    const stale = await ticketOf();
    await app.db.sql`UPDATE event_tickets SET expires_at = now() - interval '1 second' WHERE used_at IS NULL AND user_id = ${user.user.id}`;
    expect((await fetch(`${other.baseUrl}${mine}?ticket=${stale}`)).status).toBe(401);
    expect((await fetch(`${other.baseUrl}${mine}?ticket=${'A'.repeat(43)}`)).status).toBe(401);
    expect((await fetch(`${other.baseUrl}${mine}?ticket=short`)).status).toBe(401);

    // A ticket lasts no longer than the access token that got it.
    const brief = await ticketOf();
    await app.db
      .sql`UPDATE event_tickets SET credential_expires_at = now() + interval '2 seconds' WHERE used_at IS NULL AND user_id = ${user.user.id}`;
    const ending = await listen(other.baseUrl, mine, { ticket: brief });
    expect(await ending.ended).toBeUndefined();
    expect(ending.events.at(-1)).toMatchObject({ event: 'stream.ended', data: { reason: 'credential_expired' } });

    // A ticket of a session signed out is spent by nobody.
    const orphan = await ticketOf();
    expect((await user.client.POST('/auth/logout', {})).response.status).toBe(204);
    expect((await fetch(`${other.baseUrl}${mine}?ticket=${orphan}`)).status).toBe(401);
  });

  it('a signed-out session’s streams end within 5 s, on every instance', async () => {
    const user = await signUp(app.server.baseUrl, 'Leaving');
    const onOther = await follow(other, mine, user);
    const started = Date.now();
    expect((await createCoOrderClient(app.server.baseUrl, user.token).POST('/auth/logout', {})).response.status).toBe(204);
    expect(await onOther.ended).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(onOther.events.at(-1)).toMatchObject({ event: 'stream.ended', data: { reason: 'session_revoked' } });
    const refused = await fetch(`${other.baseUrl}${mine}`, { headers: { Authorization: `Bearer ${user.token}` } });
    expect(refused.status).toBe(401);
  });

  it(`at most the configured number of streams per user on one instance: then 429 too_many_streams`, async () => {
    const user = await signUp(app.server.baseUrl, 'Many');
    const five = await Promise.all(Array.from({ length: 5 }, () => follow(app.server, mine, user)));
    const sixth = await fetch(`${app.server.baseUrl}${mine}`, { headers: { Authorization: `Bearer ${user.token}` } });
    expect(sixth.status).toBe(429);
    expect(await sixth.json()).toMatchObject({ code: 'too_many_streams' });
    await five[0].close();
    await eventually(
      async () => (await fetch(`${app.server.baseUrl}${mine}`, { headers: { Authorization: `Bearer ${user.token}` } })).status === 200,
      () => 'a closed stream still counted',
      { timeoutMs: 5000 },
    );
  });

  it('an instance that holds all the streams it may refuses one more with 503 overloaded, and has room again once one closes', async () => {
    const small = await startServer(app.db.url, { EVENTS_MAX_STREAMS: '2' });
    try {
      const [a, b] = [await signUp(small.baseUrl, 'A'), await signUp(small.baseUrl, 'B')];
      const first = await listen(small.baseUrl, mine, { token: a.token });
      const second = await listen(small.baseUrl, mine, { token: b.token });
      const third = await fetch(`${small.baseUrl}${mine}`, { headers: { Authorization: `Bearer ${a.token}` } });
      expect(third.status).toBe(503);
      expect(third.headers.get('retry-after')).toBe('1');
      expect(await third.json()).toMatchObject({ code: 'overloaded' });
      await first.close();
      const again = await eventually(
        async () => {
          const response = await fetch(`${small.baseUrl}${mine}`, { headers: { Authorization: `Bearer ${a.token}` } });
          if (response.status !== 200) await response.body?.cancel();
          return response.status === 200 && response;
        },
        () => 'no room after a stream closed',
        { timeoutMs: 5000 },
      );
      await again.body?.cancel();
      await second.close();
    } finally {
      await small.stop();
    }
  });
});

/** A stream read over a connection of its own (node:http, no agent), to be dropped at the TCP level. */
function rawStream(baseUrl: string, path: string, token: string): Promise<{ text: () => string; drop: () => void }> {
  return new Promise((resolve, reject) => {
    let received = '';
    const request = httpGet(`${baseUrl}${path}`, { agent: false, headers: { Authorization: `Bearer ${token}` } }, (response) => {
      if (response.statusCode !== 200) {
        response.setEncoding('utf8');
        response.on('data', (c: string) => reject(new Error(`stream refused: ${response.statusCode} ${c}`)));
        return;
      }
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        received += chunk;
        resolve({ text: () => received, drop: () => request.destroy() });
      });
      response.on('error', () => {});
    });
    request.on('error', (error) => (received ? undefined : reject(error)));
  });
}

describe('an instance that stops, and streams that come and go', () => {
  it('ends its streams cleanly on SIGTERM; their clients resume on the other instance without a gap', async () => {
    const leaving = await startServer(app.db.url, { EVENTS_POLL_MS: '50' });
    const creator = await signUp(app.server.baseUrl, 'Creator');
    const joiner = await signUp(app.server.baseUrl, 'Joiner');
    const witness = await follow(app.server, mine, creator);
    const stream = await listen(leaving.baseUrl, mine, { token: creator.token });
    const a = await openAt(creator);
    await stream.waitForOrderEvents(1);
    const [code, end] = await Promise.all([leaving.stop(), stream.ended]);
    expect(code).toBe(0);
    expect(end).toBeUndefined();
    expect(stream.events.at(-1)).toMatchObject({ event: 'stream.ended', data: { reason: 'shutting_down' } });
    await joinOrder(joiner, a.order.id, a.etag);
    const resumed = await follow(other, mine, creator, stream.lastId());
    await witness.waitForOrderEvents(2);
    await resumed.waitForOrderEvents(1);
    expect([...summary(stream.events), ...summary(resumed.events)]).toEqual(summary(witness.events));
  });

  it('a thousand streams opened and dropped leave no listener, timer, socket or connection behind', async () => {
    const metrics = async () => {
      const response = await fetch(`${other.baseUrl}/metrics`, { headers: { Authorization: `Bearer ${TEST_METRICS_TOKEN}` } });
      return response.text();
    };
    const streamsOpen = async () => metricValue(await metrics(), 'events_streams_open')!;
    const user = await signUp(other.baseUrl, 'Crowd');
    const before = await streamsOpen();
    const crowdOf = async (size: number) => {
      // Each on a connection of its own, dropped as a phone going out of coverage drops it.
      const crowd = await Promise.all(Array.from({ length: size }, () => rawStream(other.baseUrl, mine, user.token)));
      expect(await streamsOpen()).toBe(before + size);
      await openAt(user);
      await eventually(
        async () => crowd.every((c) => c.text().includes('event: order.created')),
        () => `${crowd.filter((c) => !c.text().includes('event: order.created')).length} streams did not get the event`,
      );
      for (const c of crowd) c.drop();
      await eventually(
        async () => (await streamsOpen()) === before,
        () => 'streams still counted after their clients left',
        { timeoutMs: 10_000 },
      );
    };
    // A first crowd grows what grows once (the database pool, the server's buffers); the second
    // must leave nothing more behind it.
    await crowdOf(1000);
    const baseline = await metrics();
    await crowdOf(1000);
    const after = await metrics();
    // Handles (sockets, timers) and resources where they were, give or take a few of the service's
    // own (the metrics request's socket, a database connection opened or closed meanwhile): a
    // leak of a thousand streams would be a thousand.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_resources_total']) {
      expect(metricValue(after, name), name).toBeLessThanOrEqual(metricValue(baseline, name)! + 5);
    }
    const timers = (text: string) => metricValue(text, 'nodejs_active_resources', { type: 'Timeout' }) ?? 0;
    expect(timers(after)).toBeLessThanOrEqual(timers(baseline) + 2);
    const [{ connections }] = await app.db.sql`
      SELECT count(*)::int AS connections FROM pg_stat_activity WHERE datname = current_database() AND application_name = ${DATABASE_APPLICATION_NAME}`;
    expect(connections).toBeLessThanOrEqual(2 * 16);
  });
});
