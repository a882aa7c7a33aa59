-- The shared budgets of the rate limits: one counter per (class, principal) and window, written by
-- every instance. UNLOGGED: counters of the last minute are not worth a WAL write each, and after a
-- crash PostgreSQL empties the table, which only forgives the current window.
CREATE UNLOGGED TABLE rate_limits (
  key     varchar(255) PRIMARY KEY,
  points  integer NOT NULL DEFAULT 0,
  expire  bigint
);
