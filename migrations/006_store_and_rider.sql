-- The store's and the rider's side of an order: roles, the states from matched to completed (or
-- rejected), the store's payout account, and the rules that keep every order's money whole.

-- Roles. A user is staff of the stores listed here and a rider if listed in riders; revoking a
-- role deletes its row (the ledger, not this table, is the history that must never change).
CREATE TABLE store_staff (
  user_id     uuid NOT NULL REFERENCES users (id),
  store_id    uuid NOT NULL REFERENCES stores (id),
  granted_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, store_id)
);
CREATE INDEX store_staff_store_idx ON store_staff (store_id);

CREATE TABLE riders (
  user_id     uuid PRIMARY KEY REFERENCES users (id),
  granted_at  timestamptz NOT NULL DEFAULT now()
);

-- The new states, who picked the order up, and when the store must have answered (set at match).
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
  CHECK (status IN ('pending', 'matched', 'accepted', 'ready', 'picked_up', 'completed', 'cancelled', 'expired', 'rejected'));
ALTER TABLE orders
  ADD COLUMN rider_id      uuid REFERENCES users (id),
  ADD COLUMN accept_by     timestamptz,
  ADD COLUMN accepted_at   timestamptz,
  ADD COLUMN ready_at      timestamptz,
  ADD COLUMN picked_up_at  timestamptz,
  ADD COLUMN rejected_at   timestamptz;

-- Orders matched before this migration get the default deadline from their match.
UPDATE orders SET accept_by = matched_at + interval '10 minutes' WHERE matched_at IS NOT NULL;
-- Orders completed before stores and riders had a part (a participant said the food arrived): the
-- steps they skipped are stamped at their completion, and the joiner who confirmed it stands as
-- its rider, so that the rules below hold for every row.
UPDATE orders SET accepted_at = completed_at, ready_at = completed_at, picked_up_at = completed_at, rider_id = joiner_id
WHERE status = 'completed';

-- A matched order keeps its joiner whatever happens next (a cancelled one may have had one).
ALTER TABLE orders DROP CONSTRAINT orders_joiner_iff_matched;
ALTER TABLE orders ADD CONSTRAINT orders_joiner_iff_matched CHECK (
  (joiner_id IS NOT NULL) = (matched_at IS NOT NULL)
  AND (accept_by IS NOT NULL) = (matched_at IS NOT NULL)
  AND (rider_id IS NOT NULL) = (picked_up_at IS NOT NULL));
ALTER TABLE orders DROP CONSTRAINT orders_timestamps_match_status;
ALTER TABLE orders ADD CONSTRAINT orders_timestamps_match_status CHECK (
  (matched_at IS NOT NULL) = (status IN ('matched', 'accepted', 'ready', 'picked_up', 'completed', 'rejected')
                              OR (status = 'cancelled' AND joiner_id IS NOT NULL))
  AND (accepted_at IS NOT NULL) = (status IN ('accepted', 'ready', 'picked_up', 'completed'))
  AND (ready_at IS NOT NULL) = (status IN ('ready', 'picked_up', 'completed'))
  AND (picked_up_at IS NOT NULL) = (status IN ('picked_up', 'completed'))
  AND (completed_at IS NOT NULL) = (status = 'completed')
  AND (cancelled_at IS NOT NULL) = (status = 'cancelled')
  AND (expired_at IS NOT NULL) = (status = 'expired')
  AND (rejected_at IS NOT NULL) = (status = 'rejected'));

-- The acceptance-deadline sweeper: matched orders by deadline (replaces the delivery timer's index).
DROP INDEX orders_matched_idx;
CREATE INDEX orders_accept_by_idx ON orders (accept_by) WHERE status = 'matched';
-- A store's queue, oldest first, and the riders' views.
CREATE INDEX orders_store_queue_idx ON orders (store_id, status, created_at, id);
CREATE INDEX orders_ready_idx ON orders (store_id) WHERE status = 'ready';
CREATE INDEX orders_rider_idx ON orders (rider_id, picked_up_at DESC, id DESC) WHERE rider_id IS NOT NULL;

ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
UPDATE notifications SET kind = 'order_delivered' WHERE kind = 'order_completed';
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
  CHECK (kind IN ('order_matched', 'order_expired', 'order_cancelled', 'order_accepted', 'order_rejected',
                  'order_ready', 'order_picked_up', 'order_delivered'));

-- Each store's payout account and its append-only ledger: a delivered order's held money, once.
CREATE TABLE store_accounts (
  store_id  uuid PRIMARY KEY REFERENCES stores (id),
  balance   bigint NOT NULL DEFAULT 0 CHECK (balance >= 0)
);

CREATE TABLE store_ledger (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  store_id       uuid NOT NULL REFERENCES store_accounts (store_id),
  -- A list of one, written as the array the other kinds' CHECKs become (one form for every list).
  kind           text NOT NULL CHECK (kind = ANY (ARRAY['order_payout'])),
  amount         bigint NOT NULL CHECK (amount > 0),
  balance_after  bigint NOT NULL CHECK (balance_after >= 0),
  order_id       uuid NOT NULL REFERENCES orders (id),
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX store_ledger_store_idx ON store_ledger (store_id, id DESC);
-- A payout twice is refused here.
CREATE UNIQUE INDEX store_ledger_once_per_order ON store_ledger (order_id);

CREATE TRIGGER store_ledger_append_only BEFORE UPDATE OR DELETE ON store_ledger
  FOR EACH ROW EXECUTE FUNCTION credit_ledger_is_append_only();
CREATE TRIGGER store_ledger_no_truncate BEFORE TRUNCATE ON store_ledger
  FOR EACH STATEMENT EXECUTE FUNCTION credit_ledger_is_append_only();

-- What an order holds is what its participants were charged less what went back or out. The two
-- ways money leaves an order exclude each other: a refund gives a participant back exactly their
-- charge, and only while nothing was paid out; a payout takes exactly what the order holds, only
-- of a completed order, and only if nothing was refunded. Each locks the order row first, so two
-- transactions cannot each miss the other's row: the second waits and then sees it.
CREATE FUNCTION order_money_leaves_once() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  order_status text;
  held bigint;
BEGIN
  SELECT status INTO order_status FROM orders WHERE id = NEW.order_id FOR NO KEY UPDATE;
  IF TG_TABLE_NAME = 'credit_ledger' THEN
    IF EXISTS (SELECT FROM store_ledger WHERE order_id = NEW.order_id) THEN
      RAISE EXCEPTION 'order % was paid out: it cannot be refunded', NEW.order_id USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.amount <> -coalesce((SELECT amount FROM credit_ledger
                                WHERE order_id = NEW.order_id AND user_id = NEW.user_id AND kind = 'order_charge'), 0) THEN
      RAISE EXCEPTION 'a refund of order % must give back exactly the charge', NEW.order_id USING ERRCODE = 'check_violation';
    END IF;
  ELSE
    IF order_status IS DISTINCT FROM 'completed' THEN
      RAISE EXCEPTION 'order % is not completed: nothing is paid out', NEW.order_id USING ERRCODE = 'check_violation';
    END IF;
    SELECT -coalesce(sum(amount), 0) INTO held FROM credit_ledger WHERE order_id = NEW.order_id;
    IF EXISTS (SELECT FROM credit_ledger WHERE order_id = NEW.order_id AND kind = 'order_refund') OR NEW.amount <> held THEN
      RAISE EXCEPTION 'a payout of order % must be exactly what it holds (% KRW), and none was refunded', NEW.order_id, held
        USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER credit_ledger_refund_once BEFORE INSERT ON credit_ledger
  FOR EACH ROW WHEN (NEW.kind = 'order_refund') EXECUTE FUNCTION order_money_leaves_once();
CREATE TRIGGER store_ledger_payout_once BEFORE INSERT ON store_ledger
  FOR EACH ROW EXECUTE FUNCTION order_money_leaves_once();
