/**
 * The bench's data, made in SQL (generate_series) so a million orders take seconds, not an hour
 * of HTTP calls. Every row is one the service could have written: each order's charges and
 * refunds are ledger rows, every balance equals the sum of its ledger rows, states and
 * timestamps agree with the schema's checks. Ids are md5-derived so the bench and its pgbench
 * scripts can name a user or a store without a lookup.
 */
import { createHash } from 'node:crypto';
import type postgres from 'postgres';

/** The "city": a 9 km × 9 km box (central Seoul), where bench stores, users and deliveries are. */
export const CITY = { lat0: 37.49, lon0: 126.96, dLat: 0.081, dLon: 0.102 };
/**
 * Another city (Busan) for the orders the action scenarios (join, cancel, create) make and use:
 * tens of thousands of them would otherwise crowd the nearby search's city far past a lunch rush.
 */
export const ELSEWHERE = { lat0: 35.1, lon0: 128.95, dLat: 0.081, dLon: 0.102 };
export type Area = typeof CITY;

export const BENCH_STORES = 200;
export const MENUS_PER_STORE = 4;
/**
 * Roles: bench user s is the staff of bench store s, and bench users 0 … RIDERS - 1 are riders
 * (all among the bench's active users, whose tokens the service knows). The n-th order of a batch
 * in the rider's stages was picked up by rider n % RIDERS.
 */
export const RIDERS = 200;
export const staffOf = (storeN: number) => storeN;
export const riderOf = (g: number) => g % RIDERS;
// Sign-up grant plus three top-ups at the contract's 1,000,000 KRW maximum: enough for every
// order a user opens or joins during a run, as ledger rows like any other.
const SIGNUP_GRANT = 50_000;
const TOP_UPS = 3;
const TOP_UP = 1_000_000;

/** A valid (version 4, RFC 4122 variant) uuid derived from a name; bench_uuid() in SQL is the same. */
export const md5Uuid = (text: string) => {
  const hex = createHash('md5').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`;
};

async function createUuidFunction(sql: postgres.Sql): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION bench_uuid(name text) RETURNS uuid LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS
    $$ SELECT overlay(overlay(md5(name) PLACING '4' FROM 13) PLACING '8' FROM 17)::uuid $$`;
  // What uuid v7 is (a millisecond timestamp first, then random bits), for the pgbench scripts.
  await sql`
    CREATE OR REPLACE FUNCTION bench_uuid7() RETURNS uuid LANGUAGE sql VOLATILE AS
    $$ SELECT (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7'
               || substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 4, 15))::uuid $$`;
}
export const userId = (n: number) => md5Uuid(`bench-user-${n}`);
export const storeId = (n: number) => md5Uuid(`bench-store-${n}`);
export const menuId = (store: number, menu: number) => md5Uuid(`bench-menu-${store}-${menu}`);

export function randomPoint(random: () => number = Math.random, area: Area = CITY) {
  return { lat: area.lat0 + random() * area.dLat, lon: area.lon0 + random() * area.dLon };
}

/** Bench stores and menus in the city, and `users` users with their grant and top-ups. */
export async function createStoresAndUsers(sql: postgres.Sql, users: number): Promise<void> {
  await createUuidFunction(sql);
  await sql`SELECT setseed(0.42)`;
  await sql`
    INSERT INTO stores (id, name, category, address, lat, lon, min_order_price, delivery_tip, delivery_minutes)
    SELECT bench_uuid('bench-store-' || g), 'Bench store ' || g,
           (ARRAY['치킨', '피자', '한식', '중식', '분식'])[1 + g % 5], 'Bench-ro ' || g,
           ${CITY.lat0} + random() * ${CITY.dLat}, ${CITY.lon0} + random() * ${CITY.dLon},
           15000, 2000 + (g % 3) * 500, 30
    FROM generate_series(0, ${BENCH_STORES - 1}) g`;
  // Menus cost 16,000–19,000 KRW at stores whose minimum is 15,000: one item makes a split order.
  // loadtest/pgbench/*.sql restate these prices and tips; the audit prices their orders from these rows.
  await sql`
    INSERT INTO menus (id, store_id, name, price)
    SELECT bench_uuid('bench-menu-' || s || '-' || m), bench_uuid('bench-store-' || s), 'Menu ' || m, 16000 + m * 1000
    FROM generate_series(0, ${BENCH_STORES - 1}) s, generate_series(0, ${MENUS_PER_STORE - 1}) m`;
  const credit = SIGNUP_GRANT + TOP_UPS * TOP_UP;
  await sql`
    INSERT INTO users (id, email, name, credit, address, lat, lon, created_at)
    SELECT bench_uuid('bench-user-' || g), 'bench-' || g || '@example.com', 'Bench user ' || g, ${credit},
           'Bench-ro ' || g, ${CITY.lat0} + random() * ${CITY.dLat}, ${CITY.lon0} + random() * ${CITY.dLon},
           now() - interval '120 days'
    FROM generate_series(0, ${users - 1}) g`;
  // The stores' staff and the riders (see RIDERS), as the operator command grants them.
  await sql`
    INSERT INTO store_staff (user_id, store_id)
    SELECT bench_uuid('bench-user-' || g), bench_uuid('bench-store-' || g) FROM generate_series(0, ${BENCH_STORES - 1}) g`;
  await sql`INSERT INTO riders (user_id) SELECT bench_uuid('bench-user-' || g) FROM generate_series(0, ${RIDERS - 1}) g`;
  await sql`
    INSERT INTO credit_ledger (user_id, kind, amount, balance_after, created_at)
    SELECT bench_uuid('bench-user-' || g), k.kind, k.amount, k.balance_after, now() - interval '120 days'
    FROM generate_series(0, ${users - 1}) g,
         (SELECT 0 AS seq, 'signup_grant' AS kind, ${SIGNUP_GRANT}::bigint AS amount, ${SIGNUP_GRANT}::bigint AS balance_after
          UNION ALL
          SELECT t, 'top_up', ${TOP_UP}, ${SIGNUP_GRANT} + t * ${TOP_UP} FROM generate_series(1, ${TOP_UPS}) t) k
    ORDER BY g, k.seq`;
}

export interface OrderBatch {
  /** A label that keeps this batch's ids apart from every other batch's. */
  tag: string;
  count: number;
  users: number;
  /**
   * history: past orders, completed (6 in 9), expired (2 in 9) or cancelled (1 in 9) over the
   * last 90 days, as a busy service accumulates them. pending: pending and joinable (created in
   * the last 5 minutes). overdue: pending with expires_at already passed. matched, ready,
   * picked_up: joined in the last minute (both charged), the store's deadline ten minutes after
   * that, and taken by the store and a rider as far as the state says.
   */
  kind: 'history' | 'pending' | 'overdue' | 'matched' | 'ready' | 'picked_up';
  /** Where the deliveries are (default: the city). */
  area?: Area;
}

/**
 * Inserts a batch of orders with their items, the ledger rows of every charge and refund, and
 * the users' balances moved by the same amounts (foreign-key triggers off while loading: the rows
 * are consistent by construction, and this is 10× faster).
 */
export async function insertOrders(sql: postgres.Sql, batch: OrderBatch): Promise<void> {
  const { tag, count, users, kind } = batch;
  const area = batch.area ?? CITY;
  const half = Math.floor(users / 2);
  await sql.begin(async (tx) => {
    await tx`SET LOCAL session_replication_role = replica`;
    await tx`SELECT setseed(${(hashCode(tag) % 1000) / 1000})`;
    await tx`
      CREATE TEMP TABLE bulk_orders ON COMMIT DROP AS
      WITH base AS (
        SELECT g,
               bench_uuid('bench-order-' || ${tag} || '-' || g) AS id,
               (g * 7919) % ${users} AS creator_n,
               (g * 7919 + ${half}) % ${users} AS joiner_n,
               (g * 104729) % ${BENCH_STORES} AS store_n,
               g % ${MENUS_PER_STORE} AS menu_n,
               CASE ${kind}::text
                 WHEN 'pending' THEN 'pending' WHEN 'overdue' THEN 'pending'
                 WHEN 'history' THEN (ARRAY['completed', 'completed', 'completed', 'completed', 'completed', 'completed',
                                            'expired', 'expired', 'cancelled'])[1 + g % 9]
                 ELSE ${kind}::text END AS status,
               CASE ${kind}::text
                 WHEN 'pending' THEN now() - random() * interval '5 minutes'
                 WHEN 'overdue' THEN now() - interval '40 minutes' - random() * interval '60 minutes'
                 WHEN 'history' THEN now() - interval '1 day' - random() * interval '89 days'
                 ELSE now() - interval '2 minutes' - random() * interval '3 minutes' END AS created_at,
               ${area.lat0} + random() * ${area.dLat} AS lat,
               ${area.lon0} + random() * ${area.dLon} AS lon,
               random() AS r
        FROM generate_series(0::bigint, ${count - 1}) g)
      SELECT b.*, s.id AS store_id, s.delivery_tip, m.id AS menu_id, m.name AS menu_name, m.price AS menu_total,
             bench_uuid('bench-user-' || b.creator_n) AS creator_id,
             CASE WHEN t.joined THEN bench_uuid('bench-user-' || b.joiner_n) END AS joiner_id,
             b.created_at + interval '30 minutes' AS expires_at,
             t.matched_at,
             t.matched_at + interval '10 minutes' AS accept_by,
             CASE WHEN t.stage >= 1 THEN t.matched_at + t.step END AS accepted_at,
             CASE WHEN t.stage >= 2 THEN t.matched_at + 2 * t.step END AS ready_at,
             CASE WHEN t.stage >= 3 THEN t.matched_at + 3 * t.step END AS picked_up_at,
             CASE WHEN t.stage >= 3 THEN bench_uuid('bench-user-' || (b.g % ${RIDERS})) END AS rider_id,
             CASE WHEN t.stage = 4 THEN t.matched_at + 4 * t.step END AS completed_at,
             CASE WHEN b.status = 'cancelled' THEN b.created_at + b.r * interval '20 minutes' END AS cancelled_at,
             CASE WHEN b.status = 'expired' THEN b.created_at + interval '30 minutes' + b.r * interval '10 seconds' END AS expired_at,
             CASE WHEN b.status IN ('pending', 'overdue') THEN 1 WHEN t.joined THEN 2 + t.stage ELSE 2 END AS version,
             ceil(m.price / 2.0)::bigint + ceil(s.delivery_tip / 2.0)::bigint AS creator_share,
             floor(m.price / 2.0)::bigint + floor(s.delivery_tip / 2.0)::bigint AS joiner_share
      FROM base b
      JOIN stores s ON s.id = bench_uuid('bench-store-' || b.store_n)
      JOIN menus m ON m.id = bench_uuid('bench-menu-' || b.store_n || '-' || b.menu_n)
      -- How far the store and a rider took it: 0 matched … 3 picked up, 4 delivered (completed, paid out).
      CROSS JOIN LATERAL (SELECT
        b.status IN ('matched', 'accepted', 'ready', 'picked_up', 'completed') AS joined,
        CASE b.status WHEN 'accepted' THEN 1 WHEN 'ready' THEN 2 WHEN 'picked_up' THEN 3 WHEN 'completed' THEN 4 ELSE 0 END AS stage,
        CASE WHEN b.status = 'completed' THEN b.created_at + b.r * interval '25 minutes'
             WHEN b.status IN ('matched', 'accepted', 'ready', 'picked_up') THEN now() - b.r * interval '60 seconds' END AS matched_at,
        -- history: minutes between the steps (delivered 40 minutes after the match); live: within the last minute.
        CASE WHEN b.status = 'completed' THEN interval '10 minutes' ELSE b.r * interval '12 seconds' END AS step) t`;
    await tx`
      INSERT INTO orders (id, store_id, creator_id, joiner_id, split_type, status, menu_total, delivery_tip,
                          delivery_address, delivery_lat, delivery_lon, version, created_at, expires_at,
                          matched_at, accept_by, accepted_at, ready_at, picked_up_at, rider_id,
                          completed_at, cancelled_at, expired_at)
      SELECT id, store_id, creator_id, joiner_id, 'split', status, menu_total, delivery_tip,
             'Bench-ro ' || creator_n || ' door ' || g, lat, lon, version, created_at, expires_at,
             matched_at, CASE WHEN matched_at IS NOT NULL THEN accept_by END, accepted_at, ready_at, picked_up_at, rider_id,
             completed_at, cancelled_at, expired_at
      FROM bulk_orders ORDER BY created_at`;
    await tx`
      INSERT INTO order_items (order_id, user_id, menu_id, name, unit_price, quantity)
      SELECT id, creator_id, menu_id, menu_name, menu_total, 1 FROM bulk_orders ORDER BY created_at`;
    await tx`
      CREATE TEMP TABLE bulk_moves ON COMMIT DROP AS
      SELECT creator_id AS user_id, 'order_charge' AS kind, -creator_share AS amount, id AS order_id, created_at AS at, 1 AS seq
      FROM bulk_orders
      UNION ALL
      SELECT joiner_id, 'order_charge', -joiner_share, id, matched_at, 2 FROM bulk_orders WHERE joiner_id IS NOT NULL
      UNION ALL
      SELECT creator_id, 'order_refund', creator_share, id, coalesce(expired_at, cancelled_at), 3
      FROM bulk_orders WHERE status IN ('expired', 'cancelled')`;
    await tx`
      INSERT INTO credit_ledger (user_id, kind, amount, balance_after, order_id, created_at)
      SELECT m.user_id, m.kind, m.amount,
             u.credit + sum(m.amount) OVER (PARTITION BY m.user_id ORDER BY m.at, m.order_id, m.seq),
             m.order_id, m.at
      FROM bulk_moves m JOIN users u ON u.id = m.user_id
      ORDER BY m.at, m.order_id, m.seq`;
    await tx`
      UPDATE users u SET credit = u.credit + d.delta
      FROM (SELECT user_id, sum(amount) AS delta FROM bulk_moves GROUP BY user_id) d
      WHERE u.id = d.user_id`;
    // A delivered order's held money, paid to its store once (the store accounts grow by the same).
    await tx`
      INSERT INTO store_accounts (store_id, balance)
      SELECT store_id, 0 FROM bulk_orders WHERE status = 'completed' GROUP BY store_id
      ON CONFLICT (store_id) DO NOTHING`;
    await tx`
      INSERT INTO store_ledger (store_id, kind, amount, balance_after, order_id, created_at)
      SELECT o.store_id, 'order_payout', o.creator_share + o.joiner_share,
             a.balance + sum(o.creator_share + o.joiner_share) OVER (PARTITION BY o.store_id ORDER BY o.completed_at, o.id),
             o.id, o.completed_at
      FROM bulk_orders o JOIN store_accounts a ON a.store_id = o.store_id
      WHERE o.status = 'completed' ORDER BY o.completed_at, o.id`;
    await tx`
      UPDATE store_accounts a SET balance = a.balance + d.paid
      FROM (SELECT store_id, sum(creator_share + joiner_share) AS paid FROM bulk_orders WHERE status = 'completed' GROUP BY store_id) d
      WHERE a.store_id = d.store_id`;
    await tx`
      INSERT INTO notifications (user_id, order_id, kind, message, created_at)
      SELECT creator_id, id, CASE status WHEN 'completed' THEN 'order_delivered' ELSE 'order_' || status END, 'Bench history.',
             coalesce(completed_at, expired_at, cancelled_at, picked_up_at, ready_at, matched_at)
      FROM bulk_orders WHERE status <> 'pending'`;
  });
  // What autovacuum would do after such a load: statistics, hint bits, the visibility map; and a
  // checkpoint, so the load's gigabyte of WAL is not flushed during the next measured run.
  await sql`VACUUM (ANALYZE) orders, order_items, credit_ledger, users, notifications, store_ledger, store_accounts`;
  await sql`CHECKPOINT`.catch(() => {
    // not allowed for this role: the run then shares the disk with that flush
  });
}

/** The users an order batch's generator assigned (creator, and the joiner it would get). */
export function batchUsers(g: number, users: number) {
  return { creator: (g * 7919) % users, joiner: (g * 7919 + Math.floor(users / 2)) % users };
}

function hashCode(text: string): number {
  let h = 0;
  for (const ch of text) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h;
}
