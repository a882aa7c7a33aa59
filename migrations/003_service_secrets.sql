-- Secrets the service generates for itself when none is configured (outside production): kept
-- with the data, so a restart keeps its tokens and cursors valid and a fresh database has its own.
CREATE TABLE service_secrets (
  name text PRIMARY KEY,
  secret bytea NOT NULL CHECK (octet_length(secret) >= 32),
  created_at timestamptz NOT NULL DEFAULT now()
);
