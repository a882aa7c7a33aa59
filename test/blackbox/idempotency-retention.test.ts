/**
 * Idempotency-Keys are kept for the retention and then purged (runOnce, and the scheduled job); a
 * key reused after its purge runs as a new request. The replay path is one indexed read that
 * touches no business row. The OpenAPI document describes the header where it is taken.
 */
import { readFileSync } from 'node:fs';
import { Kysely, type CompiledQuery } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import type { Database } from '../../src/db/schema.js';
import { findAnswer } from '../../src/idempotency/repository.js';
import { runOnce } from '../../src/jobs/purge-idempotency-keys.js';
import { eventually } from '../support/eventually.js';
import {
  actor,
  demoStore,
  expectReplayOf,
  keyRow,
  keysOf,
  ledgerOf,
  SIGNUP_GRANT,
  splitOrderInput,
  type Actor,
  type DemoStore,
} from '../support/idempotency.js';
import { openOrder } from '../support/orders.js';
import { startServer } from '../support/server.js';
import { useServer } from '../support/use-server.js';
import { expectLedgerBalanced, newKey } from '../support/world.js';

const app = useServer({ LOCK_WAIT_MS: '100', IDEMPOTENCY_RETENTION_HOURS: '48' });
let service: DatabaseHandle;
let store: DemoStore;

beforeAll(async () => {
  // Gives up on a lock after 100 ms (409), and states a retention of 48 h in its OpenAPI document.
  service = openDatabase({ url: app.db.url, poolMax: 2, lockWaitMs: 2000, statementTimeoutMs: 10_000, connectTimeoutS: 5 });
  store = await demoStore((await actor(app.server.baseUrl, 'Scout')).client);
});
afterAll(async () => {
  await service?.close();
});

const topUp = (user: Actor, key: string, amount: number) =>
  user.client.POST('/users/me/credit/top-ups', { params: { header: { 'Idempotency-Key': key } }, body: { amount } });

async function age(userId: string, key: string, hours: number): Promise<void> {
  const aged = await app.db.sql`
    UPDATE idempotency_keys SET created_at = now() - make_interval(hours => ${hours})
    WHERE user_id = ${userId} AND key = ${key}`;
  expect(aged.count).toBe(1);
}

describe('purge', () => {
  it('runOnce removes exactly the keys older than the retention, in batches, and returns the count', async () => {
    const ana = await actor(app.server.baseUrl, 'Ana');
    const bo = await actor(app.server.baseUrl, 'Bo');
    const ages: [Actor, string, number][] = [
      [ana, 'a-25h', 25],
      [ana, 'a-30h', 30],
      [ana, 'a-1w', 24 * 7],
      [ana, 'a-23h', 23],
      [ana, 'a-fresh', 0],
      [bo, 'b-49h', 49],
      [bo, 'b-fresh', 0],
    ];
    for (const [user, key, hours] of ages) {
      expect((await topUp(user, key, 1_000)).response.status).toBe(201);
      if (hours > 0) await age(user.user.id, key, hours);
    }

    // Batches of 2: four expired keys take two full batches and an empty one.
    expect(await runOnce(service.db, 24, 2)).toEqual({ purged: 4 });
    expect(await keysOf(app.db.sql, ana.user.id)).toEqual(['a-23h', 'a-fresh']);
    expect(await keysOf(app.db.sql, bo.user.id)).toEqual(['b-fresh']);
    expect(await runOnce(service.db, 24, 2)).toEqual({ purged: 0 });
    // Every top-up still stands: the purge forgets keys, never effects.
    for (const user of [ana, bo]) {
      const topUps = (await ledgerOf(app.db.sql, user.user.id)).filter((r) => r.kind === 'top_up');
      expect(topUps).toHaveLength(user === ana ? 5 : 2);
    }
    await expectLedgerBalanced(app.db.sql);
  });

  it('a key reused after its purge executes as a new request; one still within the retention replays', async () => {
    const user = await actor(app.server.baseUrl, 'Returning');
    const first = await topUp(user, 'old-key', 2_000);
    const kept = await topUp(user, 'recent-key', 3_000);
    await age(user.user.id, 'old-key', 25);
    await age(user.user.id, 'recent-key', 23);
    expect(await runOnce(service.db, 24, 500)).toEqual({ purged: 1 });

    const again = await topUp(user, 'old-key', 2_000);
    expect(again.response.status).toBe(201);
    expect(again.response.headers.get('idempotent-replayed')).toBeNull();
    expect(again.data!.entry.id).not.toBe(first.data!.entry.id);
    expect(again.data!.credit).toBe(SIGNUP_GRANT + 2_000 + 3_000 + 2_000);
    // Purged means forgotten entirely: even a different request under that key simply runs.
    await age(user.user.id, 'old-key', 25);
    expect(await runOnce(service.db, 24, 500)).toEqual({ purged: 1 });
    const different = await topUp(user, 'old-key', 500);
    expect(different.response.status).toBe(201);
    expect(different.data!.credit).toBe(SIGNUP_GRANT + 2_000 + 3_000 + 2_000 + 500);

    expectReplayOf(kept, await topUp(user, 'recent-key', 3_000));
    expect((await ledgerOf(app.db.sql, user.user.id)).filter((r) => r.kind === 'top_up').map((r) => r.amount)).toEqual([
      2_000, 3_000, 2_000, 500,
    ]);
    await expectLedgerBalanced(app.db.sql);
  });

  it('the scheduled job purges on its own in a running instance', async () => {
    const user = await actor(app.server.baseUrl, 'Scheduled');
    await topUp(user, 'stale', 1_000);
    await topUp(user, 'current', 1_000);
    await age(user.user.id, 'stale', 2);
    // An instance whose purge runs every second with a one-hour retention.
    const sweeper = await startServer(app.db.url, { JOBS_ENABLED: 'true', PURGE_CRON: '* * * * * *', IDEMPOTENCY_RETENTION_HOURS: '1' });
    try {
      await eventually(
        async () => (await keyRow(app.db.sql, user.user.id, 'stale')) === undefined,
        () => `the purge job never ran:\n${sweeper.logs.slice(-20).join('\n')}`,
        { everyMs: 100 },
      );
    } finally {
      await sweeper.stop();
    }
    expect(await keyRow(app.db.sql, user.user.id, 'current')).toBeDefined();
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('the replay path', () => {
  it('is one statement, and PostgreSQL answers it with an index scan on idempotency_keys_pkey', async () => {
    const user = await actor(app.server.baseUrl, 'Indexed');
    const key = newKey();
    await topUp(user, key, 1_000);
    // A realistic table: many users' keys, with statistics, so the plan is the one production gets.
    const [{ id: other }] = await app.db.sql`SELECT id FROM users WHERE id <> ${user.user.id} LIMIT 1`;
    await app.db.sql`
      INSERT INTO idempotency_keys (user_id, key, fingerprint, response_status, response_body)
      SELECT ${other}, 'bulk-' || g, 'f', 201, '{}' FROM generate_series(1, 20000) AS g`;
    await app.db.sql`ANALYZE idempotency_keys`;

    // The service's own lookup, run through a kysely that records the SQL it sends.
    const statements: CompiledQuery[] = [];
    const recording = new Kysely<Database>({
      dialect: new PostgresJSDialect({ postgres: service.sql }),
      log: (event) => void statements.push(event.query),
    });
    const answer = await findAnswer(recording, user.user.id, key);
    expect(answer?.status).toBe(201);
    expect(statements).toHaveLength(1);

    const [{ 'QUERY PLAN': plans }] = await app.db.sql.unsafe(`EXPLAIN (FORMAT JSON) ${statements[0].sql}`, [
      ...statements[0].parameters,
    ] as never[]);
    const plan = (plans as { Plan: { 'Node Type': string; 'Index Name'?: string; 'Relation Name'?: string } }[])[0].Plan;
    expect(plan).toMatchObject({ 'Node Type': 'Index Scan', 'Index Name': 'idempotency_keys_pkey', 'Relation Name': 'idempotency_keys' });
    await app.db.sql`DELETE FROM idempotency_keys WHERE user_id = ${other} AND key LIKE 'bulk-%'`;
  });

  it('touches no business row: with the user and order rows locked, replays still answer at once', async () => {
    const creator = await actor(app.server.baseUrl, 'Creator');
    const joiner = await actor(app.server.baseUrl, 'Joiner');
    const { order, etag } = await openOrder(creator, splitOrderInput(store));
    const createKey = newKey();
    const joinKey = newKey();
    const topUpKey = newKey();
    const create = () =>
      creator.client.POST('/orders', { params: { header: { 'Idempotency-Key': createKey } }, body: splitOrderInput(store) });
    const join = () =>
      joiner.client.POST('/orders/{orderId}/join', {
        params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': joinKey } },
      });
    const firsts = [await create(), await join(), await topUp(joiner, topUpKey, 1_000)];
    expect(firsts.map((f) => f.response.status)).toEqual([201, 200, 201]);

    // This instance gives up on a lock after 100 ms: anything that needed these rows would be a 409.
    const replays = await app.db.sql.begin(async (tx) => {
      await tx`SELECT id FROM users WHERE id IN (${creator.user.id}, ${joiner.user.id}) FOR UPDATE`;
      await tx`SELECT id FROM orders WHERE id = ${order.id} FOR UPDATE`;
      return [await create(), await join(), await topUp(joiner, topUpKey, 1_000)];
    });
    replays.forEach((replay, i) => expectReplayOf(firsts[i], replay));
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('the OpenAPI document', () => {
  type Doc = {
    paths: Record<string, Record<string, { parameters?: Ref[]; responses: Record<string, Ref & { headers?: Record<string, Ref> }> }>>;
    components: { parameters: Record<string, Param>; headers: Record<string, unknown>; responses?: Record<string, unknown> };
  };
  type Ref = { $ref?: string };
  type Param = { name: string; in: string; required?: boolean; description: string; schema: Record<string, unknown> };

  const resolve = <T>(doc: Doc, node: T & Ref): T => {
    if (!node.$ref) return node;
    const [, , section, name] = node.$ref.split('/');
    return (doc.components as unknown as Record<string, Record<string, T>>)[section][name];
  };

  const TAKES_KEY: Record<string, boolean> = {
    'post /orders': true,
    'post /orders/{orderId}/join': true,
    'post /orders/{orderId}/cancel': true,
    'post /users/me/credit/top-ups': true,
    'post /users/me/credit/top-ups/{topUpId}/confirm': true,
    'post /orders/{orderId}/expire': false,
    'post /orders/{orderId}/accept': false,
    'post /orders/{orderId}/reject': true,
    'post /orders/{orderId}/ready': false,
    'post /orders/{orderId}/pick-up': false,
    'post /orders/{orderId}/deliver': true,
  };

  function checkDocument(doc: Doc, retentionHours: number) {
    const seen: Record<string, boolean> = {};
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const key = (op.parameters ?? []).map((p) => resolve<Param>(doc, p as Param & Ref)).find((p) => p.name === 'Idempotency-Key');
        if (!key) continue;
        const route = `${method} ${path}`;
        seen[route] = key.required === true;
        expect(key.in).toBe('header');
        expect(key.schema).toMatchObject({ type: 'string', minLength: 1, maxLength: 255 });
        expect(key.description).toContain(`${retentionHours} h`);
        expect(key.description).toContain('422');
        expect(key.description).toContain('Idempotent-Replayed');
        for (const status of ['400', '409', '422']) expect(op.responses, `${route} ${status}`).toHaveProperty(status);
        const busy = resolve(doc, op.responses['409']) as { headers?: Record<string, Ref> };
        expect(Object.keys(busy.headers ?? {}), `${route} 409`).toContain('Retry-After');
        const success = Object.entries(op.responses).find(([status]) => status.startsWith('2'))!;
        const successHeaders = (resolve(doc, success[1]) as { headers?: Record<string, Ref> }).headers ?? {};
        expect(Object.keys(successHeaders), `${route} ${success[0]}`).toContain('Idempotent-Replayed');
      }
    }
    expect(seen).toEqual(TAKES_KEY);
  }

  it('describes Idempotency-Key on every operation that takes it, with its 400/409/422 and the replay header', async () => {
    const committed = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8')) as Doc;
    checkDocument(committed, 24);
  });

  it('states the configured retention in the document the server serves', async () => {
    // The document itself is not an operation of the SDK: plain fetch.
    const served = (await (await fetch(`${app.server.baseUrl}/openapi.json`)).json()) as Doc;
    checkDocument(served, 48);
  });
});
