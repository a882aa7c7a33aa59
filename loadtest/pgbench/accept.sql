-- POST /orders/{id}/accept with an Idempotency-Key, statement by statement as the service sends it
-- (keep in step with src/orders/accept.ts, src/orders/repository.ts transitionOrder, src/orders/tell.ts,
-- src/http/idempotency*.ts). The store's staff is bench user s for bench store s (loadtest/lib/data.ts).
-- Order g (a counter per client) of the bench's matched batch, named with bench_uuid().
-- Variables from bench.ts (-D): prefix, users, half, stores, menus, clients, i=0, body, headers.
\set g :i * :clients + :client_id
\set i :i + 1
\set creator (:g * 7919) % :users
\set joiner (:g * 7919 + :half) % :users
\set store (:g * 104729) % :stores

-- idempotency pre-read (findAnswer)
SELECT fingerprint, response_status, response_body, response_headers FROM idempotency_keys
WHERE user_id = bench_uuid('bench-user-' || :store) AND key = 'pgbench-accept-' || :g;
-- BEGIN travels with the first statement (src/db/database.ts pipelines them)
\startpipeline
BEGIN;
-- transitionOrder('accept'): the compare-and-set, the staff's role by subquery
UPDATE orders SET status = 'accepted', version = version + 1, accepted_at = now()
WHERE id = bench_uuid(:prefix || :g) AND status = 'matched' AND accept_by > now() AND version = ANY('{2}'::int[])
  AND store_id IN (SELECT store_id FROM store_staff WHERE user_id = bench_uuid('bench-user-' || :store))
RETURNING *, coalesce((
  SELECT json_agg(json_build_object('user_id', i.user_id, 'menu_id', i.menu_id, 'name', i.name,
                                    'quantity', i.quantity, 'unit_price', i.unit_price) ORDER BY i.id)
  FROM order_items i WHERE i.order_id = orders.id), '[]'::json) AS items;
\endpipeline
-- tellParticipants: both participants notified
INSERT INTO notifications (user_id, order_id, kind, message)
SELECT * FROM unnest(ARRAY[bench_uuid('bench-user-' || :creator), bench_uuid('bench-user-' || :joiner)],
                     ARRAY[bench_uuid(:prefix || :g), bench_uuid(:prefix || :g)],
                     ARRAY['order_accepted', 'order_accepted'],
                     ARRAY['The store accepted your order and is preparing it.', 'The store accepted your order and is preparing it.'])
WHERE true;
-- claimStatement, with the stored answer, in the COMMIT's round trip
\startpipeline
INSERT INTO idempotency_keys (user_id, key, fingerprint, response_status, response_body, response_headers)
VALUES (bench_uuid('bench-user-' || :store), 'pgbench-accept-' || :g,
        '9d70f543f27d5395dc97a1138b85e8d55baca1dfc1010f08a879b0fd1577ddd9', 200, :body, :headers);
COMMIT;
\endpipeline
