-- POST /orders (split, one item, delivery given), statement by statement as the service sends it
-- (keep in step with src/orders/create.ts, src/orders/repository.ts, src/http/idempotency*.ts).
-- The token's user is remembered by the service (no statement). bench_uuid() names the bench's
-- users, stores and menus (what the token and the body carry); prices and tips restate
-- loadtest/lib/data.ts (the audit after this run prices each order from its menus and store).
-- Variables from bench.ts (-D): users, stores, menus, i=0, body, headers.
\set u random(0, :users - 1)
\set s random(0, :stores - 1)
\set m random(0, :menus - 1)
\set i :i + 1
\set price 16000 + :m * 1000
\set tip 2000 + (:s % 3) * 500
\set charge ((:price + 1) / 2) + ((:tip + 1) / 2)
\set amount -1 * :charge

-- idempotency pre-read (findAnswer)
SELECT fingerprint, response_status, response_body, response_headers FROM idempotency_keys
WHERE user_id = bench_uuid('bench-user-' || :u) AND key = 'pgbench-create-' || :client_id || '-' || :i;
-- BEGIN travels with the first statement (src/db/database.ts pipelines them)
\startpipeline
BEGIN;
-- loadCreateFacts
SELECT (SELECT row_to_json(s) FROM stores s WHERE s.id = bench_uuid('bench-store-' || :s)) AS store,
       coalesce((SELECT json_agg(m) FROM menus m WHERE m.id = ANY(ARRAY[bench_uuid('bench-menu-' || :s || '-' || :m)])), '[]'::json) AS menus,
       (SELECT json_build_object('address', u.address, 'lat', u.lat, 'lon', u.lon) FROM users u WHERE u.id = bench_uuid('bench-user-' || :u)
        FOR NO KEY UPDATE) AS saved,
       (SELECT great_circle_m(s.lat, s.lon, coalesce(35.13::float8, u.lat), coalesce(128.99::float8, u.lon))
        FROM stores s, users u WHERE s.id = bench_uuid('bench-store-' || :s) AND u.id = bench_uuid('bench-user-' || :u)) AS delivery_distance_m;
\endpipeline
-- insertOrderCharged (the service makes a uuidv7 in JS and sends it three times; here
-- bench_uuid7() makes the same time-ordered kind once, and the other two read it from o)
-- (the open-orders quota: 1000 is the bench's MAX_OPEN_ORDERS, see serverEnv in bench.ts)
WITH open AS (
  SELECT count(*)::int AS n FROM (
    SELECT FROM orders WHERE creator_id = bench_uuid('bench-user-' || :u) AND status = 'pending' AND expires_at > now()
    LIMIT 1000) mine),
o AS (
  INSERT INTO orders (id, store_id, creator_id, split_type, menu_total, delivery_tip,
                      delivery_address, delivery_lat, delivery_lon, expires_at)
  SELECT bench_uuid7(), bench_uuid('bench-store-' || :s), bench_uuid('bench-user-' || :u), 'split', :price, :tip,
         'pgbench', 35.13, 128.99, now() + make_interval(mins => 30)
  FROM open WHERE open.n < 1000
  RETURNING *),
items AS (
  INSERT INTO order_items (order_id, user_id, menu_id, name, unit_price, quantity)
  SELECT (SELECT id FROM o), bench_uuid('bench-user-' || :u), i.menu_id, i.name, i.unit_price, i.quantity
  FROM unnest(ARRAY[bench_uuid('bench-menu-' || :s || '-' || :m)], ARRAY['Menu ' || :m],
              ARRAY[:price::bigint], ARRAY[1])
       WITH ORDINALITY AS i(menu_id, name, unit_price, quantity, n)
  WHERE EXISTS (SELECT FROM o)
  ORDER BY i.n),
-- creditMoveSql (src/users/repository.ts), amount = -charge
debited AS (
  UPDATE users SET credit = credit + :amount, version = version + 1
  WHERE id = bench_uuid('bench-user-' || :u) AND credit + :amount >= 0 AND EXISTS (SELECT FROM o)
  RETURNING id, credit),
moved AS (
  INSERT INTO credit_ledger (user_id, kind, amount, balance_after, order_id)
  SELECT id, 'order_charge', :amount, credit, (SELECT id FROM o) FROM debited
  RETURNING *)
SELECT o.*, EXISTS (SELECT FROM moved) AS charged, open.n AS open_orders FROM open LEFT JOIN o ON true;
-- claimStatement, with the stored answer, in the COMMIT's round trip
\startpipeline
INSERT INTO idempotency_keys (user_id, key, fingerprint, response_status, response_body, response_headers)
VALUES (bench_uuid('bench-user-' || :u), 'pgbench-create-' || :client_id || '-' || :i,
        'eb4d9fd113be0053f438ec8b7da750bb7aca291a2b40769bb9c50614258f86c2', 201, :body, :headers);
COMMIT;
\endpipeline
