import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Db, Tx } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import { issueAccessToken } from './access-tokens.js';
import { insertRefreshToken, insertSession, lockRefreshToken, revokeSessions, spendRefreshToken } from './repository.js';
import type { KeyRing } from './signing-keys.js';

// A client that lost the answer to a refresh (a dropped connection) retries with the same token:
// within this many seconds it gets the same new pair; later, the token's reuse means it leaked.
export const REFRESH_RETRY_GRACE_SECONDS = 10;
const REFRESH_TOKEN_BYTES = 32;

/** What a sign-in or a refresh hands the client (the user is added by the handler). */
export interface SessionTokens {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  userId: string;
}

export interface SessionSettings {
  keys: KeyRing;
  accessTtlSeconds: number;
  refreshTtlDays: number;
}

const hashOf = (refreshToken: string) => new Uint8Array(createHash('sha256').update(refreshToken).digest());

async function newTokens(tx: Tx, settings: SessionSettings, userId: string, sessionId: string) {
  const refreshToken = randomBytes(REFRESH_TOKEN_BYTES).toString('base64url');
  await insertRefreshToken(tx, sessionId, hashOf(refreshToken), settings.refreshTtlDays);
  const access = await issueAccessToken(settings.keys.signing, settings.accessTtlSeconds, { userId, sessionId });
  return { refreshToken, access };
}

function answer(userId: string, accessToken: string, expiresAtMs: number, refreshToken: string): SessionTokens {
  return {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: Math.max(0, Math.floor((expiresAtMs - Date.now()) / 1000)),
    refresh_token: refreshToken,
    userId,
  };
}

/** A new session for the user, in the transaction that found or created them. */
export async function startSession(tx: Tx, settings: SessionSettings, userId: string): Promise<SessionTokens> {
  const sessionId = await insertSession(tx, userId);
  const { refreshToken, access } = await newTokens(tx, settings, userId, sessionId);
  return answer(userId, access.token, access.expiresAtMs, refreshToken);
}

/**
 * Spends a refresh token for a new pair. The same token again within the grace gets that same
 * pair; after it, the session is revoked (someone else holds the token) and the answer is 401
 * `refresh_token_reused`.
 */
export async function refreshSession(db: Db, settings: SessionSettings, refreshToken: string): Promise<SessionTokens> {
  const tokenHash = hashOf(refreshToken);
  const outcome = await db.transaction().execute(async (tx) => {
    const presented = await lockRefreshToken(tx, tokenHash);
    if (!presented || presented.expired) return { refused: 'refresh_token_invalid' as const };
    if (presented.session_revoked) return { refused: 'session_revoked' as const };
    if (presented.spent_seconds_ago !== null) {
      const retried =
        presented.spent_seconds_ago <= REFRESH_RETRY_GRACE_SECONDS && presented.successor && unseal(settings.keys, presented.successor);
      if (retried) return { tokens: answer(presented.user_id, retried.access_token, retried.expires_at_ms, retried.refresh_token) };
      await revokeSessions(tx, { sessionId: presented.session_id }, 'refresh_token_reused');
      return { refused: 'refresh_token_reused' as const };
    }
    const { refreshToken: next, access } = await newTokens(tx, settings, presented.user_id, presented.session_id);
    const successor = { access_token: access.token, expires_at_ms: access.expiresAtMs, refresh_token: next };
    await spendRefreshToken(tx, tokenHash, seal(settings.keys, successor));
    return { tokens: answer(presented.user_id, access.token, access.expiresAtMs, next) };
  });
  if (outcome.tokens) return outcome.tokens;
  const detail = {
    refresh_token_invalid: 'The refresh token is unknown or expired: sign in again.',
    session_revoked: 'The session was revoked: sign in again.',
    refresh_token_reused: 'The refresh token was already used, so the session has been revoked: sign in again.',
  }[outcome.refused];
  throw new DomainError(outcome.refused, detail);
}

interface Successor {
  access_token: string;
  expires_at_ms: number;
  refresh_token: string;
}

// The pair a refresh answered, kept for its retry: sealed (AES-256-GCM) with a key derived from
// the signing key, which the database does not hold, so a copy of the database holds no tokens.
function seal(keys: KeyRing, successor: Successor): Uint8Array {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keys.sealing[0], iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(successor)), cipher.final()]);
  return new Uint8Array(Buffer.concat([iv, cipher.getAuthTag(), body]));
}

function unseal(keys: KeyRing, sealed: Uint8Array): Successor | undefined {
  const bytes = Buffer.from(sealed);
  for (const key of keys.sealing) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
      decipher.setAuthTag(bytes.subarray(12, 28));
      return JSON.parse(Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8')) as Successor;
    } catch {
      // Sealed with another key of the ring (before a rotation): try the next.
    }
  }
  return undefined;
}
