-- POST /orders/{id}/join of a split order, statement by statement as the service sends it
-- (keep in step with src/orders/join.ts, src/users/repository.ts moveCredit, src/http/idempotency*.ts).
-- The token's user is remembered by the service (no statement). The request's order and joiner
-- are the bench's pending batch: order g (a counter per client) and its joiner, named with
-- bench_uuid(); price and tip restate loadtest/lib/data.ts (the audit after this run fails if they
-- drift: the joiner's charge is checked against the order's items at their menus' prices).
-- Variables from bench.ts (-D): prefix, users, half, stores, menus, clients, i=0, body, headers.
\set g :i * :clients + :client_id
\set i :i + 1
\set creator (:g * 7919) % :users
\set joiner (:g * 7919 + :half) % :users
\set menu_total 16000 + (:g % :menus) * 1000
\set tip 2000 + (((:g * 104729) % :stores) % 3) * 500
\set amount -1 * ((:menu_total / 2) + (:tip / 2))

-- idempotency pre-read (findAnswer)
SELECT fingerprint, response_status, response_body, response_headers FROM idempotency_keys
WHERE user_id = bench_uuid('bench-user-' || :joiner) AND key = 'pgbench-join-' || :g;
-- BEGIN travels with the first statement (src/db/database.ts pipelines them)
\startpipeline
BEGIN;
-- transitionOrder('join'): the compare-and-set
-- (the store's answering deadline starts with the match: STORE_ACCEPT_MINUTES, 10 by default)
UPDATE orders SET status = 'matched', version = version + 1, matched_at = now(),
       joiner_id = bench_uuid('bench-user-' || :joiner), joiner_menu_total = NULL,
       accept_by = now() + make_interval(mins => 10)
WHERE id = bench_uuid(:prefix || :g) AND status = 'pending' AND expires_at > now() AND version = ANY('{1}'::int[])
  AND true AND creator_id <> bench_uuid('bench-user-' || :joiner) AND split_type = 'split'
RETURNING *, coalesce((
  SELECT json_agg(json_build_object('user_id', i.user_id, 'menu_id', i.menu_id, 'name', i.name,
                                    'quantity', i.quantity, 'unit_price', i.unit_price) ORDER BY i.id)
  FROM order_items i WHERE i.order_id = orders.id), '[]'::json) AS items;
\endpipeline
-- chargeShare → moveCredit with the two notifications: floor(M/2) + floor(T/2)
WITH debited AS (
  UPDATE users SET credit = credit + :amount, version = version + 1
  WHERE id = bench_uuid('bench-user-' || :joiner) AND credit + :amount >= 0
  RETURNING id, credit),
moved AS (
  INSERT INTO credit_ledger (user_id, kind, amount, balance_after, order_id)
  SELECT id, 'order_charge', :amount, credit, bench_uuid(:prefix || :g) FROM debited
  RETURNING *), notified AS (
    INSERT INTO notifications (user_id, order_id, kind, message)
    SELECT * FROM unnest(ARRAY[bench_uuid('bench-user-' || :creator), bench_uuid('bench-user-' || :joiner)],
                         ARRAY[bench_uuid(:prefix || :g), bench_uuid(:prefix || :g)],
                         ARRAY['order_matched', 'order_matched'],
                         ARRAY['A neighbour joined your order: it is on its way.', 'You joined the order: it is on its way.'])
    WHERE EXISTS (SELECT FROM debited))
SELECT * FROM moved;
-- claimStatement, with the stored answer, in the COMMIT's round trip
\startpipeline
INSERT INTO idempotency_keys (user_id, key, fingerprint, response_status, response_body, response_headers)
VALUES (bench_uuid('bench-user-' || :joiner), 'pgbench-join-' || :g,
        'e725e906030cb3d1c1101742651aa00e2c235b5c2d566bdc6cce85755e349a9d', 200, :body, :headers);
COMMIT;
\endpipeline
