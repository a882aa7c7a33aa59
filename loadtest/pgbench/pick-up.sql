-- POST /orders/{id}/pick-up with an Idempotency-Key, statement by statement as the service sends it
-- (keep in step with src/orders/pick-up.ts, src/orders/repository.ts pickUpTransition, src/orders/tell.ts,
-- src/http/idempotency*.ts). Order g (a counter per client) of the bench's ready batch is picked up
-- by rider g % 200, a bench user with the rider role (loadtest/lib/data.ts RIDERS).
-- Variables from bench.ts (-D): prefix, users, half, stores, menus, riders, clients, i=0, body, headers.
\set g :i * :clients + :client_id
\set i :i + 1
\set creator (:g * 7919) % :users
\set joiner (:g * 7919 + :half) % :users
\set rider :g % :riders

-- idempotency pre-read (findAnswer)
SELECT fingerprint, response_status, response_body, response_headers FROM idempotency_keys
WHERE user_id = bench_uuid('bench-user-' || :rider) AND key = 'pgbench-pick-up-' || :g;
-- BEGIN travels with the first statement (src/db/database.ts pipelines them)
\startpipeline
BEGIN;
-- pickUpTransition: the compare-and-set writes the rider, the rider's role by subquery
UPDATE orders SET status = 'picked_up', version = version + 1, picked_up_at = now(), rider_id = bench_uuid('bench-user-' || :rider)
WHERE id = bench_uuid(:prefix || :g) AND status = 'ready' AND version = ANY('{4}'::int[])
  AND EXISTS (SELECT FROM riders WHERE user_id = bench_uuid('bench-user-' || :rider))
RETURNING *, coalesce((
  SELECT json_agg(json_build_object('user_id', i.user_id, 'menu_id', i.menu_id, 'name', i.name,
                                    'quantity', i.quantity, 'unit_price', i.unit_price) ORDER BY i.id)
  FROM order_items i WHERE i.order_id = orders.id), '[]'::json) AS items;
\endpipeline
-- tellParticipants: both participants notified
INSERT INTO notifications (user_id, order_id, kind, message)
SELECT * FROM unnest(ARRAY[bench_uuid('bench-user-' || :creator), bench_uuid('bench-user-' || :joiner)],
                     ARRAY[bench_uuid(:prefix || :g), bench_uuid(:prefix || :g)],
                     ARRAY['order_picked_up', 'order_picked_up'],
                     ARRAY['A rider picked up your order: it is on its way.', 'A rider picked up your order: it is on its way.'])
WHERE true;
-- claimStatement, with the stored answer, in the COMMIT's round trip
\startpipeline
INSERT INTO idempotency_keys (user_id, key, fingerprint, response_status, response_body, response_headers)
VALUES (bench_uuid('bench-user-' || :rider), 'pgbench-pick-up-' || :g,
        '5c3a7e1f0b2d4c6e8a9f1b3d5e7a9c1e3f5b7d9a1c3e5f7b9d1a3c5e7f9b1d3a', 200, :body, :headers);
COMMIT;
\endpipeline
