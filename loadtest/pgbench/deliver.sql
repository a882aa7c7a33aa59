-- POST /orders/{id}/deliver (Idempotency-Key), statement by statement as the service sends it
-- (keep in step with src/orders/deliver.ts, src/orders/repository.ts transitionOrder, the payout in
-- src/stores/, src/orders/tell.ts, src/http/idempotency*.ts). Order g (a counter per client) of the
-- bench's picked-up batch, delivered by the rider who picked it up (bench user g % 200); the store
-- is paid what the order holds, menu total + tip (prices restate loadtest/lib/data.ts; the audit
-- after this run checks every payout against the order's charges).
-- Variables from bench.ts (-D): prefix, users, half, stores, menus, riders, clients, i=0, body, headers.
\set g :i * :clients + :client_id
\set i :i + 1
\set creator (:g * 7919) % :users
\set joiner (:g * 7919 + :half) % :users
\set store (:g * 104729) % :stores
\set rider :g % :riders
\set held 16000 + (:g % :menus) * 1000 + 2000 + (:store % 3) * 500

-- idempotency pre-read (findAnswer)
SELECT fingerprint, response_status, response_body, response_headers FROM idempotency_keys
WHERE user_id = bench_uuid('bench-user-' || :rider) AND key = 'pgbench-deliver-' || :g;
-- BEGIN travels with the first statement (src/db/database.ts pipelines them)
\startpipeline
BEGIN;
-- transitionOrder('deliver'): the compare-and-set, only by the order's rider
UPDATE orders SET status = 'completed', version = version + 1, completed_at = now()
WHERE id = bench_uuid(:prefix || :g) AND status = 'picked_up' AND version = ANY('{5}'::int[])
  AND rider_id = bench_uuid('bench-user-' || :rider)
RETURNING *, coalesce((
  SELECT json_agg(json_build_object('user_id', i.user_id, 'menu_id', i.menu_id, 'name', i.name,
                                    'quantity', i.quantity, 'unit_price', i.unit_price) ORDER BY i.id)
  FROM order_items i WHERE i.order_id = orders.id), '[]'::json) AS items;
\endpipeline
-- the payout: the store's account and its ledger row, what the order holds
WITH account AS (
  INSERT INTO store_accounts (store_id, balance) VALUES (bench_uuid('bench-store-' || :store), :held)
  ON CONFLICT (store_id) DO UPDATE SET balance = store_accounts.balance + EXCLUDED.balance
  RETURNING store_id, balance)
INSERT INTO store_ledger (store_id, kind, amount, balance_after, order_id)
SELECT store_id, 'order_payout', :held, balance, bench_uuid(:prefix || :g) FROM account
RETURNING *;
-- tellParticipants: both participants notified
INSERT INTO notifications (user_id, order_id, kind, message)
SELECT * FROM unnest(ARRAY[bench_uuid('bench-user-' || :creator), bench_uuid('bench-user-' || :joiner)],
                     ARRAY[bench_uuid(:prefix || :g), bench_uuid(:prefix || :g)],
                     ARRAY['order_delivered', 'order_delivered'],
                     ARRAY['Your joint order was delivered. Enjoy!', 'Your joint order was delivered. Enjoy!'])
WHERE true;
-- claimStatement, with the stored answer, in the COMMIT's round trip
\startpipeline
INSERT INTO idempotency_keys (user_id, key, fingerprint, response_status, response_body, response_headers)
VALUES (bench_uuid('bench-user-' || :rider), 'pgbench-deliver-' || :g,
        '6f1da62c8b9450d3d3b7b66cbfc399773204865ace35ad51be7e717d3ed7ab78', 200, :body, :headers);
COMMIT;
\endpipeline
