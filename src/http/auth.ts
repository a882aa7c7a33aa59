import type { MiddlewareHandler } from 'hono';
import { SignJWT, jwtVerify } from 'jose';
import { DomainError } from '../domain/errors.js';
import type { AppEnv } from './env.js';

const ISSUER = 'co-order';
const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface TokenSigner {
  issue(userId: string): Promise<{ token: string; expiresIn: number }>;
  /** The user id a valid token names, and when the token expires (ms since the epoch). */
  verify(token: string): Promise<{ userId: string; expiresAtMs: number }>;
}

export function tokenSigner(secret: Uint8Array, ttlSeconds: number): TokenSigner {
  // Imported once: given the raw bytes, jose imports a new CryptoKey for every token it checks.
  const key = crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  return {
    async issue(userId) {
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setIssuer(ISSUER)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(await key);
      return { token, expiresIn: ttlSeconds };
    },
    async verify(token) {
      const { payload } = await jwtVerify(token, await key, { issuer: ISSUER, algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || !USER_ID.test(payload.sub)) throw new Error('token subject is not a user id');
      if (typeof payload.exp !== 'number') throw new Error('token has no expiry');
      return { userId: payload.sub, expiresAtMs: payload.exp * 1000 };
    },
  };
}

// A token this process verified, and whose user it found in the database, is good until it
// expires or this long has passed (so a database reset under a running process is noticed soon).
const VERIFIED_TTL_MS = 60_000;
// Enough for every client of a busy instance; past it the oldest entries are dropped.
const VERIFIED_MAX = 50_000;

/**
 * Tokens already verified, with their user: a client that keeps its token (every client) costs
 * neither an HMAC verification nor a database round trip per request. Only successes are kept;
 * users are never deleted (the ledger refers to them for good), so a user seen stays valid.
 */
class VerifiedTokens {
  private readonly entries = new Map<string, { userId: string; validUntilMs: number }>();

  get(token: string, nowMs: number): string | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.validUntilMs > nowMs) return entry.userId;
    this.entries.delete(token);
    return undefined;
  }

  set(token: string, userId: string, validUntilMs: number): void {
    if (this.entries.size >= VERIFIED_MAX) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, { userId, validUntilMs });
  }
}

/**
 * Requires `Authorization: Bearer <jwt>` naming an existing user (`userExists` asks), whose id
 * becomes c.var.userId.
 */
export function requireAuth(signer: TokenSigner, userExists: (userId: string) => Promise<boolean>): MiddlewareHandler<AppEnv> {
  const verified = new VerifiedTokens();
  return async (c, next) => {
    const header = c.req.header('Authorization') ?? '';
    // The scheme is case-insensitive (RFC 9110 §11.1); the token is a JWT's three base64url parts.
    const match = /^Bearer +([A-Za-z0-9_\-.]+) *$/i.exec(header);
    if (!match) throw new DomainError('unauthorized', 'Send Authorization: Bearer <token>.');
    const token = match[1];
    const now = Date.now();
    let userId = verified.get(token, now);
    if (userId === undefined) {
      let expiresAtMs: number;
      try {
        ({ userId, expiresAtMs } = await signer.verify(token));
      } catch {
        throw new DomainError('unauthorized', 'The bearer token is invalid or expired.');
      }
      // A well-signed token for a user this database does not have (e.g. from before a reset): not
      // authenticated, here at the edge, rather than an empty answer or a foreign-key failure later.
      if (!(await userExists(userId))) throw new DomainError('unauthorized', 'The token names an unknown user.');
      verified.set(token, userId, Math.min(expiresAtMs, now + VERIFIED_TTL_MS));
    }
    c.set('userId', userId);
    await next();
  };
}
