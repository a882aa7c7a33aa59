-- Money in through a payment provider. A top-up is the provider's order (its id is the orderId we
-- send); it moves awaiting_payment → processing (the recovery point, written before we ask the
-- provider) → succeeded | failed. The wallet is credited by the ledger row that references the
-- top-up, and a unique index lets that row exist once: whoever settles a top-up second (a
-- concurrent confirm, the webhook, the settler) cannot credit it again.
CREATE TABLE top_ups (
  id                  uuid PRIMARY KEY,
  user_id             uuid NOT NULL REFERENCES users (id),
  amount              bigint NOT NULL CHECK (amount > 0),
  status              text NOT NULL DEFAULT 'awaiting_payment'
                      CHECK (status IN ('awaiting_payment', 'processing', 'succeeded', 'failed')),
  -- Credited at once, with no provider behind it (development without PAYMENTS_API_URL).
  demo                boolean NOT NULL DEFAULT false,
  payment_key         text CHECK (length(payment_key) BETWEEN 1 AND 200),
  -- Our Idempotency-Key at the provider: the same on every confirm of this top-up, by anyone.
  provider_key        text NOT NULL UNIQUE,
  failure_code        text,
  failure_message     text,
  -- The settler's bookkeeping: how often it asked, when it asks next, when it gave up.
  check_attempts      integer NOT NULL DEFAULT 0 CHECK (check_attempts >= 0),
  next_check_at       timestamptz,
  gave_up_at          timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  settled_at          timestamptz,
  CONSTRAINT top_ups_key_once_paid CHECK (status = 'awaiting_payment' OR demo OR payment_key IS NOT NULL),
  CONSTRAINT top_ups_settled_at CHECK ((settled_at IS NOT NULL) = (status IN ('succeeded', 'failed')))
);
CREATE INDEX top_ups_user_idx ON top_ups (user_id, id DESC);
-- The settler's queue: only what is still processing.
CREATE INDEX top_ups_processing_idx ON top_ups (next_check_at) WHERE status = 'processing';

ALTER TABLE credit_ledger ADD COLUMN top_up_id uuid REFERENCES top_ups (id);
-- A top-up credits its wallet once, whichever path settles it.
CREATE UNIQUE INDEX credit_ledger_once_per_top_up ON credit_ledger (top_up_id) WHERE top_up_id IS NOT NULL;
-- Only a top_up row may name a top-up (rows written before this migration name none).
ALTER TABLE credit_ledger ADD CONSTRAINT credit_ledger_top_up_link CHECK (top_up_id IS NULL OR kind = 'top_up');
