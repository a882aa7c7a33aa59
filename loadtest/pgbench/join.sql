-- POST /orders/{id}/join of a split order, statement by statement as the service sends it
-- (see `npm run bench`; keep in step with src/orders/join.ts, src/http/idempotency*.ts, src/http/auth.ts).
-- Which order and which joiner stand in for the request's path and token: the next row of
-- bench_join_targets, picked inside the first statement so the round trips are the service's.

-- auth: the token's user exists
SELECT u.id AS uid, u.email, u.name, u.credit, u.address, u.lat, u.lon, u.version, u.created_at, t.id AS oid
FROM bench_join_targets t JOIN users u ON u.id = t.joiner
WHERE t.n = (SELECT nextval('bench_join_seq')) \gset
-- idempotency pre-read
SELECT fingerprint, response_status, response_body, response_headers FROM idempotency_keys
WHERE user_id = :uid AND key = :oid;
BEGIN;
-- loadOrderFacts
SELECT o.id, o.creator_id, o.store_id, o.split_type, o.menu_total, o.delivery_tip, s.min_order_price
FROM orders AS o INNER JOIN stores AS s ON s.id = o.store_id WHERE o.id = :oid \gset
-- transitionOrder: the compare-and-set
UPDATE orders SET status = 'matched', version = version + 1, matched_at = now(), joiner_id = :uid, joiner_menu_total = NULL
WHERE id = :oid AND status = 'pending' AND expires_at > now() AND version IN (1)
RETURNING *, coalesce((
  SELECT json_agg(json_build_object('user_id', i.user_id, 'menu_id', i.menu_id, 'name', i.name,
                                    'quantity', i.quantity, 'unit_price', i.unit_price) ORDER BY i.id)
  FROM order_items i WHERE i.order_id = orders.id), '[]'::json) AS items;
-- chargeShare → moveCredit: floor(M/2) + floor(T/2)
\set amount -1 * ((:menu_total / 2) + (:delivery_tip / 2))
WITH debited AS (
  UPDATE users SET credit = credit + :amount, version = version + 1
  WHERE id = :uid AND credit + :amount >= 0
  RETURNING id, credit)
INSERT INTO credit_ledger (user_id, kind, amount, balance_after, order_id)
SELECT id, 'order_charge', :amount, credit, :oid FROM debited
RETURNING *;
-- insertNotifications
INSERT INTO notifications (user_id, order_id, kind, message)
VALUES (:creator_id, :oid, 'order_matched', 'A neighbour joined your order: it is on its way.'),
       (:uid, :oid, 'order_matched', 'You joined the order: it is on its way.');
-- claimKey, with the stored answer
INSERT INTO idempotency_keys (user_id, key, fingerprint, response_status, response_body, response_headers)
VALUES (:uid, :oid, 'e725e906030cb3d1c1101742651aa00e2c235b5c2d566bdc6cce85755e349a9d', 200,
        :body, :headers)
ON CONFLICT (user_id, key) DO NOTHING RETURNING key;
COMMIT;
