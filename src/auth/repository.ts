import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Db, Tx } from '../db/database.js';
import type { SessionRevocation } from '../db/schema.js';

export async function insertSession(tx: Tx, userId: string): Promise<string> {
  const id = uuidv7();
  await tx.insertInto('sessions').values({ id, user_id: userId }).execute();
  return id;
}

export async function insertRefreshToken(tx: Tx, sessionId: string, tokenHash: Uint8Array, ttlDays: number): Promise<void> {
  await sql`INSERT INTO refresh_tokens (token_hash, session_id, expires_at)
            VALUES (${tokenHash}, ${sessionId}, now() + make_interval(days => ${ttlDays}))`.execute(tx);
}

export interface PresentedRefreshToken {
  session_id: string;
  user_id: string;
  expired: boolean;
  session_revoked: boolean;
  /** Seconds since it was spent; null while unspent. */
  spent_seconds_ago: number | null;
  successor: Uint8Array | null;
}

/** The refresh token with this hash and its session, locked: two refreshes with one token take turns. */
export async function lockRefreshToken(tx: Tx, tokenHash: Uint8Array): Promise<PresentedRefreshToken | undefined> {
  const { rows } = await sql<PresentedRefreshToken>`
    SELECT rt.session_id, s.user_id, rt.expires_at <= now() AS expired, s.revoked_at IS NOT NULL AS session_revoked,
           extract(epoch FROM clock_timestamp() - rt.spent_at)::float8 AS spent_seconds_ago, rt.successor
    FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
    WHERE rt.token_hash = ${tokenHash}
    FOR UPDATE OF rt`.execute(tx);
  return rows[0];
}

export async function spendRefreshToken(tx: Tx, tokenHash: Uint8Array, successor: Uint8Array): Promise<void> {
  await sql`UPDATE refresh_tokens SET spent_at = clock_timestamp(), successor = ${successor} WHERE token_hash = ${tokenHash}`.execute(tx);
}

/** Revokes sessions not yet revoked: one, or every one of a user. The ids it revoked. */
export async function revokeSessions(
  db: Db | Tx,
  which: { sessionId: string } | { userId: string },
  reason: SessionRevocation,
): Promise<string[]> {
  const where = 'sessionId' in which ? sql`id = ${which.sessionId}` : sql`user_id = ${which.userId}`;
  const { rows } = await sql<{ id: string }>`
    UPDATE sessions SET revoked_at = clock_timestamp(), revoked_reason = ${reason}
    WHERE ${where} AND revoked_at IS NULL RETURNING id`.execute(db);
  return rows.map((r) => r.id);
}

/** The session's standing, if it is the user's: unknown when it is not (or no such session). */
export async function sessionStanding(db: Db, sessionId: string, userId: string): Promise<'live' | 'revoked' | 'unknown'> {
  const { rows } = await sql<{ revoked: boolean }>`
    SELECT revoked_at IS NOT NULL AS revoked FROM sessions WHERE id = ${sessionId} AND user_id = ${userId}`.execute(db);
  if (rows.length === 0) return 'unknown';
  return rows[0].revoked ? 'revoked' : 'live';
}

/**
 * Sessions revoked after `since` (the database's clock), or within `lookbackSeconds` when there is
 * no `since` yet; with the database's time now, for the next call.
 */
export async function revokedSessionsSince(
  db: Db,
  since: Date | undefined,
  lookbackSeconds: number,
): Promise<{ ids: { id: string; revoked_at: Date }[]; now: Date }> {
  const from = since ? sql`${since}::timestamptz` : sql`now() - make_interval(secs => ${lookbackSeconds})`;
  const { rows } = await sql<{ id: string | null; revoked_at: Date | null; now: Date }>`
    SELECT s.id, s.revoked_at, now() AS now FROM (SELECT now()) n
    LEFT JOIN sessions s ON s.revoked_at > ${from}`.execute(db);
  return { ids: rows.filter((r) => r.id !== null).map((r) => ({ id: r.id!, revoked_at: r.revoked_at! })), now: rows[0].now };
}

/**
 * What sign-in leaves behind and no longer needs: the sealed answers of refreshes past their retry
 * grace, refresh tokens past their expiry (their sessions stay, for the record), logins never
 * finished.
 */
export async function purgeSignInLeftovers(
  db: Db,
  graceSeconds: number,
): Promise<{ forgotten: number; expired: number; abandoned: number }> {
  const forgotten = await sql`UPDATE refresh_tokens SET successor = NULL
            WHERE successor IS NOT NULL AND spent_at < now() - make_interval(secs => ${graceSeconds})`.execute(db);
  const expired = await sql`DELETE FROM refresh_tokens WHERE expires_at < now()`.execute(db);
  const abandoned = await sql`DELETE FROM oidc_logins WHERE expires_at < now()`.execute(db);
  const count = (result: { numAffectedRows?: bigint }) => Number(result.numAffectedRows ?? 0);
  return { forgotten: count(forgotten), expired: count(expired), abandoned: count(abandoned) };
}

export async function saveOidcLogin(
  db: Db,
  login: { stateHash: Uint8Array; provider: string; codeVerifier: string; nonce: string; ttlSeconds: number },
): Promise<void> {
  await sql`INSERT INTO oidc_logins (state_hash, provider, code_verifier, nonce, expires_at)
            VALUES (${login.stateHash}, ${login.provider}, ${login.codeVerifier}, ${login.nonce},
                    now() + make_interval(secs => ${login.ttlSeconds}))`.execute(db);
}

/** The login this state began, taken (a state is good once), if it has not expired. */
export async function takeOidcLogin(
  db: Db,
  stateHash: Uint8Array,
  provider: string,
): Promise<{ code_verifier: string; nonce: string } | undefined> {
  const { rows } = await sql<{ code_verifier: string; nonce: string; live: boolean }>`
    DELETE FROM oidc_logins WHERE state_hash = ${stateHash} AND provider = ${provider}
    RETURNING code_verifier, nonce, expires_at > now() AS live`.execute(db);
  return rows[0]?.live ? rows[0] : undefined;
}

export async function findIdentityUser(db: Db | Tx, provider: string, subject: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('user_identities')
    .select('user_id')
    .where('provider', '=', provider)
    .where('subject', '=', subject)
    .executeTakeFirst();
  return row?.user_id;
}

/** Links the identity to the user; false when another transaction linked it first. */
export async function linkIdentity(tx: Tx, provider: string, subject: string, userId: string): Promise<boolean> {
  const linked = await tx
    .insertInto('user_identities')
    .values({ provider, subject, user_id: userId })
    .onConflict((oc) => oc.columns(['provider', 'subject']).doNothing())
    .returning('user_id')
    .executeTakeFirst();
  return linked !== undefined;
}
