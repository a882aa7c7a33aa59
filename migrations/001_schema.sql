-- The whole data model. The database enforces every rule it can express, so that no bug in the
-- service can store an impossible state (negative credit, a second charge, an unknown status).

CREATE TABLE users (
  id          uuid PRIMARY KEY,
  email       text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  credit      bigint NOT NULL DEFAULT 0 CHECK (credit >= 0),
  address     text CHECK (length(address) BETWEEN 1 AND 300),
  lat         double precision CHECK (lat BETWEEN -90 AND 90),
  lon         double precision CHECK (lon BETWEEN -180 AND 180),
  version     integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  created_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_address_complete CHECK ((address IS NULL) = (lat IS NULL) AND (lat IS NULL) = (lon IS NULL))
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE categories (
  name        text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 50),
  sort_order  integer NOT NULL DEFAULT 0
);

CREATE TABLE stores (
  id                uuid PRIMARY KEY,
  name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  category          text NOT NULL REFERENCES categories (name),
  address           text NOT NULL,
  lat               double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
  lon               double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
  min_order_price   bigint NOT NULL CHECK (min_order_price > 0),
  delivery_tip      bigint NOT NULL CHECK (delivery_tip >= 0),
  delivery_minutes  integer NOT NULL CHECK (delivery_minutes BETWEEN 1 AND 300)
);
CREATE INDEX stores_category_idx ON stores (category, name, id);

CREATE TABLE menus (
  id        uuid PRIMARY KEY,
  store_id  uuid NOT NULL REFERENCES stores (id),
  name      text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  price     bigint NOT NULL CHECK (price > 0),
  UNIQUE (store_id, name)
);

-- One store's items per cart: the service checks it under a lock on the user row.
CREATE TABLE cart_items (
  user_id     uuid NOT NULL REFERENCES users (id),
  menu_id     uuid NOT NULL REFERENCES menus (id),
  store_id    uuid NOT NULL REFERENCES stores (id),
  quantity    integer NOT NULL CHECK (quantity BETWEEN 1 AND 99),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, menu_id)
);

CREATE TABLE orders (
  id                 uuid PRIMARY KEY,
  store_id           uuid NOT NULL REFERENCES stores (id),
  creator_id         uuid NOT NULL REFERENCES users (id),
  joiner_id          uuid REFERENCES users (id),
  split_type         text NOT NULL CHECK (split_type IN ('split', 'separate')),
  status             text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'matched', 'completed', 'cancelled', 'expired')),
  -- split: the shared menu; separate: the creator's own items.
  menu_total         bigint NOT NULL CHECK (menu_total > 0),
  -- separate only, set at join: the joiner's own items.
  joiner_menu_total  bigint CHECK (joiner_menu_total > 0),
  delivery_tip       bigint NOT NULL CHECK (delivery_tip >= 0),
  delivery_address   text NOT NULL CHECK (length(delivery_address) BETWEEN 1 AND 300),
  delivery_lat       double precision NOT NULL CHECK (delivery_lat BETWEEN -90 AND 90),
  delivery_lon       double precision NOT NULL CHECK (delivery_lon BETWEEN -180 AND 180),
  version            integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  created_at         timestamptz NOT NULL DEFAULT now(),
  expires_at         timestamptz NOT NULL,
  matched_at         timestamptz,
  completed_at       timestamptz,
  cancelled_at       timestamptz,
  expired_at         timestamptz,
  CONSTRAINT orders_joiner_not_creator CHECK (joiner_id <> creator_id),
  CONSTRAINT orders_joiner_iff_matched CHECK ((joiner_id IS NOT NULL) = (status IN ('matched', 'completed'))),
  CONSTRAINT orders_joiner_total_iff_separate_join
    CHECK ((joiner_menu_total IS NOT NULL) = (split_type = 'separate' AND joiner_id IS NOT NULL)),
  CONSTRAINT orders_timestamps_match_status CHECK (
    (matched_at IS NOT NULL) = (status IN ('matched', 'completed'))
    AND (completed_at IS NOT NULL) = (status = 'completed')
    AND (cancelled_at IS NOT NULL) = (status = 'cancelled')
    AND (expired_at IS NOT NULL) = (status = 'expired'))
);
-- Nearby search: a GiST index over the delivery point of pending orders only, so its size follows
-- the number of joinable orders, not the history.
CREATE INDEX orders_pending_location_idx ON orders USING gist (point(delivery_lon, delivery_lat))
  WHERE status = 'pending';
-- Sweepers: overdue pending orders, and matched orders waiting for delivery.
CREATE INDEX orders_pending_expiry_idx ON orders (expires_at) WHERE status = 'pending';
CREATE INDEX orders_matched_idx ON orders (matched_at) WHERE status = 'matched';
CREATE INDEX orders_creator_idx ON orders (creator_id, created_at DESC, id DESC);
CREATE INDEX orders_joiner_idx ON orders (joiner_id, created_at DESC, id DESC) WHERE joiner_id IS NOT NULL;

CREATE TABLE order_items (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id    uuid NOT NULL REFERENCES orders (id),
  user_id     uuid NOT NULL REFERENCES users (id),
  menu_id     uuid NOT NULL REFERENCES menus (id),
  -- Name and price are copied: a later menu change must not rewrite what was paid for.
  name        text NOT NULL,
  unit_price  bigint NOT NULL CHECK (unit_price > 0),
  quantity    integer NOT NULL CHECK (quantity BETWEEN 1 AND 99),
  UNIQUE (order_id, user_id, menu_id)
);

-- Append-only: every credit movement, signed. A user's balance is the sum of their rows.
CREATE TABLE credit_ledger (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id        uuid NOT NULL REFERENCES users (id),
  kind           text NOT NULL CHECK (kind IN ('signup_grant', 'top_up', 'order_charge', 'order_refund')),
  amount         bigint NOT NULL,
  balance_after  bigint NOT NULL CHECK (balance_after >= 0),
  order_id       uuid REFERENCES orders (id),
  created_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT credit_ledger_sign CHECK (CASE kind WHEN 'order_charge' THEN amount < 0 ELSE amount > 0 END),
  CONSTRAINT credit_ledger_order_link CHECK ((order_id IS NOT NULL) = (kind IN ('order_charge', 'order_refund')))
);
CREATE INDEX credit_ledger_user_idx ON credit_ledger (user_id, id DESC);
-- The last line of defence against double charges and double refunds.
CREATE UNIQUE INDEX credit_ledger_once_per_order ON credit_ledger (order_id, user_id, kind)
  WHERE order_id IS NOT NULL;

CREATE FUNCTION credit_ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'credit_ledger is append-only';
END $$;
CREATE TRIGGER credit_ledger_append_only BEFORE UPDATE OR DELETE ON credit_ledger
  FOR EACH ROW EXECUTE FUNCTION credit_ledger_is_append_only();
CREATE TRIGGER credit_ledger_no_truncate BEFORE TRUNCATE ON credit_ledger
  FOR EACH STATEMENT EXECUTE FUNCTION credit_ledger_is_append_only();

CREATE TABLE notifications (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users (id),
  order_id    uuid REFERENCES orders (id),
  kind        text NOT NULL CHECK (kind IN ('order_matched', 'order_expired', 'order_cancelled', 'order_completed')),
  message     text NOT NULL,
  read_at     timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_user_idx ON notifications (user_id, id DESC);

-- A claimed key and the response it produced, written in the transaction of the effect.
CREATE TABLE idempotency_keys (
  user_id           uuid NOT NULL REFERENCES users (id),
  key               text NOT NULL CHECK (key ~ '^[\x20-\x7e]{1,255}$'),
  fingerprint       text NOT NULL,
  response_status   integer NOT NULL CHECK (response_status BETWEEN 200 AND 499),
  -- text, not jsonb: a replay returns the very bytes of the first answer.
  response_body     text NOT NULL,
  response_headers  jsonb NOT NULL DEFAULT '{}',
  created_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
