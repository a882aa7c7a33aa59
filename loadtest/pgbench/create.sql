-- POST /orders (split, one item, delivery given), statement by statement as the service sends it
-- (see `npm run bench`; keep in step with src/orders/create.ts, src/http/idempotency*.ts, src/http/auth.ts).
-- bench_uuid() names the bench's users, stores and menus (what the token and the body carry).
\set u random(0, :users - 1)
\set s random(0, :stores - 1)
\set m random(0, :menus - 1)
\set k random(1, 9000000000000000000)

-- auth: the token's user exists
SELECT id AS uid, email, name, credit, address, lat, lon, version, created_at
FROM users WHERE id = bench_uuid('bench-user-' || :u) \gset
-- idempotency pre-read
SELECT fingerprint, response_status, response_body, response_headers FROM idempotency_keys
WHERE user_id = :uid AND key = 'pgbench-create-' || :k;
BEGIN;
-- findStore
SELECT id AS sid, name, category, address, lat, lon, min_order_price, delivery_tip, delivery_minutes
FROM stores WHERE id = bench_uuid('bench-store-' || :s) \gset
-- priceItems → findMenus
SELECT id AS mid, store_id, name AS mname, price FROM menus WHERE id IN (bench_uuid('bench-menu-' || :s || '-' || :m)) \gset
-- insertOrder (the service makes a uuidv7 in JS; bench_uuid7() makes the same time-ordered kind)
INSERT INTO orders (id, store_id, creator_id, split_type, menu_total, delivery_tip, delivery_address, delivery_lat, delivery_lon, expires_at)
VALUES (bench_uuid7(), :sid, :uid, 'split', :price, :delivery_tip, 'pgbench', 37.53, 127.01, now() + make_interval(mins => 30))
RETURNING id AS oid, store_id, creator_id, joiner_id, split_type, status, menu_total, joiner_menu_total, delivery_tip,
          delivery_address, delivery_lat, delivery_lon, version, created_at, expires_at, matched_at, completed_at,
          cancelled_at, expired_at \gset
-- insertItems
INSERT INTO order_items (order_id, user_id, menu_id, name, unit_price, quantity) VALUES (:oid, :uid, :mid, :mname, :price, 1);
-- chargeShare → moveCredit: ceil(M/2) + ceil(T/2)
\set amount -1 * (((:price + 1) / 2) + ((:delivery_tip + 1) / 2))
WITH debited AS (
  UPDATE users SET credit = credit + :amount, version = version + 1
  WHERE id = :uid AND credit + :amount >= 0
  RETURNING id, credit)
INSERT INTO credit_ledger (user_id, kind, amount, balance_after, order_id)
SELECT id, 'order_charge', :amount, credit, :oid FROM debited
RETURNING *;
-- claimKey, with the stored answer
INSERT INTO idempotency_keys (user_id, key, fingerprint, response_status, response_body, response_headers)
VALUES (:uid, 'pgbench-create-' || :k, 'eb4d9fd113be0053f438ec8b7da750bb7aca291a2b40769bb9c50614258f86c2', 201,
        :body, :headers)
ON CONFLICT (user_id, key) DO NOTHING RETURNING key;
COMMIT;
