/**
 * The nearby search at scale: with thousands of orders in the table, GET /orders uses the GiST
 * index on pending delivery points (no sequential scan of orders) and sends the same number of
 * SQL statements whatever the page size.
 *
 * The SQL checked is not a copy: the service runs behind a statement tap (test/support/
 * statement-tap.ts) that records every statement it sends with its parameters, and the test
 * EXPLAINs exactly those, prepared with the parameter types the driver declared — both as the
 * custom plan PostgreSQL uses for the first executions of a prepared statement and as the
 * generic plan it may switch to later.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { isRevocationPoll, type CapturedStatement } from '../support/statement-tap.js';
import { useTappedServer } from '../support/use-server.js';
import { JEONJU, signUp, type TestUser } from '../support/world.js';

const app = useTappedServer();
let searcher: TestUser;

const SPREAD = 5000; // pending orders over ~110 km × 90 km around Jeonju
const CLUSTER = 150; // pending orders within ~2 km of the query point: more than the largest page
const HISTORY = 20_000; // finished orders: the index only covers pending ones

beforeAll(async () => {
  searcher = await signUp(app.server.baseUrl, 'Searcher');

  const creatorId = crypto.randomUUID();
  await app.db.sql`INSERT INTO users (id, email, name) VALUES (${creatorId}, ${`bulk-${creatorId}@example.com`}, 'Bulk')`;
  const stores = await app.db.sql<{ id: string; category: string }[]>`SELECT id, category FROM stores ORDER BY name`;
  const storeIds = stores.map((s) => s.id);
  // Setup straight into the table: the API would take minutes for 25,000 orders.
  await app.db.sql`
    INSERT INTO orders (id, store_id, creator_id, split_type, menu_total, delivery_tip,
                        delivery_address, delivery_lat, delivery_lon, expires_at)
    SELECT gen_random_uuid(), (${storeIds}::uuid[])[1 + i % ${storeIds.length}], ${creatorId}, 'split', 20000, 3000, 'bulk',
           ${JEONJU.lat} + (random() - 0.5), ${JEONJU.lon} + (random() - 0.5), now() + interval '30 minutes'
    FROM generate_series(1, ${SPREAD}) AS i`;
  await app.db.sql`
    INSERT INTO orders (id, store_id, creator_id, split_type, menu_total, delivery_tip,
                        delivery_address, delivery_lat, delivery_lon, expires_at)
    SELECT gen_random_uuid(), (${storeIds}::uuid[])[1 + i % ${storeIds.length}], ${creatorId}, 'split', 20000, 3000, 'bulk',
           ${JEONJU.lat} + (random() - 0.5) * 0.03, ${JEONJU.lon} + (random() - 0.5) * 0.03, now() + interval '30 minutes'
    FROM generate_series(1, ${CLUSTER}) AS i`;
  await app.db.sql`
    INSERT INTO orders (id, store_id, creator_id, split_type, status, menu_total, delivery_tip,
                        delivery_address, delivery_lat, delivery_lon, expires_at, expired_at)
    SELECT gen_random_uuid(), (${storeIds}::uuid[])[1 + i % ${storeIds.length}], ${creatorId}, 'split', 'expired', 20000, 3000, 'bulk',
           ${JEONJU.lat} + (random() - 0.5) * 0.03, ${JEONJU.lon} + (random() - 0.5) * 0.03,
           now() - interval '1 day', now() - interval '1 day'
    FROM generate_series(1, ${HISTORY}) AS i`;
  await app.db.sql`ANALYZE orders`;
});

/** The statements one request sent (driver bookkeeping on pg_catalog aside). */
async function statementsOf(request: () => Promise<unknown>): Promise<CapturedStatement[]> {
  const before = app.tap.statements.length;
  await request();
  return app.tap.statements.slice(before).filter((s) => !/pg_catalog/.test(s.sql) && !isRevocationPoll(s));
}

type PlanNode = { 'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string; Plans?: PlanNode[] };

function nodesOf(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

/** EXPLAINs a captured statement as PostgreSQL would plan it: custom or generic plan. */
async function explain(statement: CapturedStatement, mode: 'force_custom_plan' | 'force_generic_plan'): Promise<PlanNode[]> {
  const types = await Promise.all(
    statement.paramTypes.map(async (oid) =>
      oid === 0 ? 'unknown' : ((await app.db.sql`SELECT ${oid}::regtype::text AS t`)[0].t as string),
    ),
  );
  const literal = (value: string | null) => (value === null ? 'NULL' : `'${value.replace(/'/g, "''")}'`);
  return app.db.sql.begin(async (tx) => {
    await tx.unsafe(`SET LOCAL plan_cache_mode = ${mode}`);
    const name = `nearby_${mode}`;
    await tx.unsafe(`PREPARE ${name}${types.length ? `(${types.join(', ')})` : ''} AS ${statement.sql}`);
    const [row] = await tx.unsafe(`EXPLAIN (FORMAT JSON) EXECUTE ${name}(${statement.params.map(literal).join(', ')})`);
    await tx.unsafe(`DEALLOCATE ${name}`);
    const json = row['QUERY PLAN'] as [{ Plan: PlanNode }];
    return nodesOf(json[0].Plan);
  });
}

const search = (query: { limit?: number; category?: string; radius_m?: number; cursor?: string }) =>
  searcher.client.GET('/orders', { params: { query: { ...JEONJU, radius_m: 3000, ...query } } });

describe('nearby search at scale', () => {
  it('finds the cluster, nearest first, and pages through it', async () => {
    const first = await search({ limit: 100 });
    expect(first.response.status).toBe(200);
    expect(first.data!.items).toHaveLength(100);
    expect(first.data!.next_cursor).not.toBeNull();
    const distances = first.data!.items.map((o) => o.distance_m);
    expect(distances).toEqual([...distances].sort((a, b) => a - b));
    expect(distances.every((d) => d <= 3000)).toBe(true);
    const second = await search({ limit: 100, cursor: first.data!.next_cursor! });
    expect(second.data!.items.length).toBeGreaterThan(CLUSTER - 100);
    expect(second.data!.items[0].distance_m).toBeGreaterThanOrEqual(distances.at(-1)!);
  });

  it('sends the same, small number of statements whatever the page size', async () => {
    const counts: Record<number, string[]> = {};
    for (const limit of [1, 7, 50, 100]) {
      const statements = await statementsOf(async () => {
        const { data } = await search({ limit });
        expect(data!.items).toHaveLength(limit);
      });
      counts[limit] = statements.map((s) => s.sql.replace(/\s+/g, ' ').slice(0, 40));
    }
    for (const limit of [7, 50, 100]) expect(counts[limit]).toEqual(counts[1]);
    // At most one statement to authenticate (the caller's user row); then the nearby query, the
    // page's items and the page's stores, one statement each.
    const [auth, nearbyStatements] = [counts[1].filter((s) => /from "users"/.test(s)), counts[1].filter((s) => !/from "users"/.test(s))];
    expect(auth.length).toBeLessThanOrEqual(1);
    expect(nearbyStatements).toEqual([
      expect.stringMatching(/great_circl/),
      expect.stringMatching(/"order_id"/),
      expect.stringMatching(/from "stores"/),
    ]);

    // With a category: still the same three (auth may or may not need its lookup: it caches tokens).
    const withCategory = await statementsOf(() => search({ limit: 100, category: '치킨' }));
    expect(withCategory.filter((s) => !/from "users"/.test(s.sql))).toHaveLength(3);
    // An empty page needs no items and no stores.
    const empty = await statementsOf(() => searcher.client.GET('/orders', { params: { query: { lat: -45, lon: 170, limit: 100 } } }));
    expect(empty.length).toBeLessThanOrEqual(4);
  });

  it('uses the GiST index on pending delivery points, never a sequential scan of orders', async () => {
    const variants = {
      plain: await statementsOf(() => search({ limit: 20 })),
      category: await statementsOf(() => search({ limit: 20, category: '피자' })),
      defaultRadius: await statementsOf(() => search({ limit: 20, radius_m: undefined })),
      nextPage: await (async () => {
        const { data } = await search({ limit: 20 });
        return statementsOf(() => search({ limit: 20, cursor: data!.next_cursor! }));
      })(),
    };
    for (const [variant, statements] of Object.entries(variants)) {
      const nearby = statements.filter((s) => s.sql.includes('great_circle_m'));
      expect(nearby, variant).toHaveLength(1);
      for (const mode of ['force_custom_plan', 'force_generic_plan'] as const) {
        const nodes = await explain(nearby[0], mode);
        const summary = `${variant}/${mode}: ${JSON.stringify(nodes.map((n) => [n['Node Type'], n['Relation Name'], n['Index Name']]))}`;
        // An Index Scan names both; a Bitmap Index Scan names only the index (its heap scan the table).
        expect(
          nodes.some((n) => n['Index Name'] === 'orders_pending_location_idx'),
          summary,
        ).toBe(true);
        expect(
          nodes.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'orders'),
          summary,
        ).toEqual([]);
      }
    }
  });
});
