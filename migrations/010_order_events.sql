-- The live status log: one row per recipient of each order change, written by triggers in the
-- transaction that made the change, so no path (an action, a sweeper's batch) can forget one and
-- none is written for a change that rolled back. Nothing here notifies anyone: each instance reads
-- the log while someone listens (a NOTIFY would take a database-wide lock at every commit).
--
-- Ids come from a sequence, so a later id can commit before an earlier one. Readers therefore go
-- by (xid, id), the writing transaction first, and only read rows whose transaction is older than
-- every transaction still running (pg_snapshot_xmin): no row can later appear before what they read.
CREATE TABLE order_events (
  xid       xid8 NOT NULL DEFAULT pg_current_xact_id(),
  id        bigint GENERATED ALWAYS AS IDENTITY,
  -- Exactly one recipient: a user (a participant, the rider, a refunded user) or a store's staff.
  user_id   uuid,
  store_id  uuid,
  kind      text NOT NULL CHECK (kind IN ('order.created', 'order.matched', 'order.cancelled', 'order.expired',
                                          'order.accepted', 'order.rejected', 'order.ready', 'order.picked_up',
                                          'order.delivered', 'order.refunded')),
  order_id  uuid NOT NULL,
  status    text NOT NULL,
  version   integer NOT NULL,
  -- order.refunded: what came back to the user's wallet.
  amount    bigint,
  at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (xid, id),
  CONSTRAINT order_events_one_recipient CHECK ((user_id IS NULL) <> (store_id IS NULL)),
  CONSTRAINT order_events_amount_iff_refund CHECK ((amount IS NOT NULL) = (kind = 'order.refunded'))
);
-- A resume replays one recipient's rows after a position.
CREATE INDEX order_events_user_idx ON order_events (user_id, xid, id) WHERE user_id IS NOT NULL;
CREATE INDEX order_events_store_idx ON order_events (store_id, xid, id) WHERE store_id IS NOT NULL;
-- The purge goes by age; rows arrive in time order, so a block range index is enough.
CREATE INDEX order_events_at_idx ON order_events USING brin (at);

-- An order's change reaches both participants, its rider once it has one, and its store's staff
-- once the order is in the store's queue (matched: a neighbour's pending order is none of the
-- store's business, nor is a pending order's cancellation or expiry).
CREATE FUNCTION order_event_kind(status text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT 'order.' || CASE status WHEN 'pending' THEN 'created' WHEN 'completed' THEN 'delivered' ELSE status END
$$;

CREATE FUNCTION order_event_recipients(creator uuid, joiner uuid, rider uuid, store uuid)
RETURNS TABLE (user_id uuid, store_id uuid) LANGUAGE sql IMMUTABLE AS $$
  SELECT r.user_id, r.store_id
  FROM (VALUES (creator, NULL::uuid), (joiner, NULL), (rider, NULL), (NULL, CASE WHEN joiner IS NOT NULL THEN store END)) AS r(user_id, store_id)
  WHERE r.user_id IS NOT NULL OR r.store_id IS NOT NULL
$$;

-- Row triggers, and the ledger's only for refunds (its WHEN is checked without calling anything):
-- a create, a join or a step pays one small INSERT, and a charge or a top-up nothing.
CREATE FUNCTION record_order_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO order_events (user_id, store_id, kind, order_id, status, version)
  SELECT r.user_id, r.store_id, order_event_kind(NEW.status), NEW.id, NEW.status, NEW.version
  FROM order_event_recipients(NEW.creator_id, NEW.joiner_id, NEW.rider_id, NEW.store_id) r;
  RETURN NULL;
END $$;
CREATE TRIGGER orders_event_on_insert AFTER INSERT ON orders
  FOR EACH ROW EXECUTE FUNCTION record_order_event();
CREATE TRIGGER orders_event_on_status AFTER UPDATE OF status ON orders
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION record_order_event();

-- A refund is news of its own to the user it went to, with the amount. The order's state is the
-- one its transition (an earlier statement of the same transaction) left.
CREATE FUNCTION record_refund_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO order_events (user_id, kind, order_id, status, version, amount)
  SELECT NEW.user_id, 'order.refunded', o.id, o.status, o.version, NEW.amount FROM orders o WHERE o.id = NEW.order_id;
  RETURN NULL;
END $$;
CREATE TRIGGER credit_ledger_refund_event AFTER INSERT ON credit_ledger
  FOR EACH ROW WHEN (NEW.kind = 'order_refund') EXECUTE FUNCTION record_refund_event();

-- A browser's EventSource cannot send a header: it opens its stream with a ticket instead of the
-- access token (which must never stand in a URL). One use, within a minute; kept as a hash.
CREATE TABLE event_tickets (
  ticket_hash         bytea PRIMARY KEY CHECK (octet_length(ticket_hash) = 32),
  user_id             uuid NOT NULL REFERENCES users (id),
  session_id          uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  -- The stream it opens lasts no longer than the access token that asked for it.
  credential_expires_at timestamptz NOT NULL,
  expires_at          timestamptz NOT NULL,
  used_at             timestamptz
);
CREATE INDEX event_tickets_expiry_idx ON event_tickets (expires_at);
