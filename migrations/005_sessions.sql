-- Sign-in: identities at OpenID providers, sessions, their refresh tokens, and the logins in flight.

-- A person signed in through a provider may have no email, or one the provider did not verify
-- (which must not claim an existing account): such a user has none.
ALTER TABLE users ALTER COLUMN email DROP NOT NULL;

CREATE TABLE user_identities (
  provider    text NOT NULL CHECK (provider ~ '^[a-z][a-z0-9_]{0,31}$'),
  subject     text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
  user_id     uuid NOT NULL REFERENCES users (id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);

CREATE TABLE sessions (
  id              uuid PRIMARY KEY,
  user_id         uuid NOT NULL REFERENCES users (id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  revoked_at      timestamptz,
  revoked_reason  text CHECK (revoked_reason IN ('logout', 'logout_all', 'refresh_token_reused')),
  CONSTRAINT sessions_revocation_complete CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
CREATE INDEX sessions_live_of_user ON sessions (user_id) WHERE revoked_at IS NULL;
-- Every instance polls what was revoked since it last looked.
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Only the SHA-256 of a refresh token is kept. A spent token keeps, for the retry grace only, the
-- pair that replaced it, sealed with a key the database does not hold.
CREATE TABLE refresh_tokens (
  token_hash      bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
  session_id      uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  spent_at        timestamptz,
  successor       bytea,
  CONSTRAINT refresh_tokens_successor_of_spent CHECK (successor IS NULL OR spent_at IS NOT NULL)
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_successor_kept ON refresh_tokens (spent_at) WHERE successor IS NOT NULL;

-- An authorization request between its redirect to the provider and the callback, which may reach
-- another instance: found by the hash of its state, used once.
CREATE TABLE oidc_logins (
  state_hash     bytea PRIMARY KEY CHECK (octet_length(state_hash) = 32),
  provider       text NOT NULL,
  code_verifier  text NOT NULL,
  nonce          text NOT NULL,
  expires_at     timestamptz NOT NULL
);
CREATE INDEX oidc_logins_expires_at ON oidc_logins (expires_at);
