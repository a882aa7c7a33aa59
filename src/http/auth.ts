import type { MiddlewareHandler } from 'hono';
import { DomainError } from '../domain/errors.js';
import type { AppEnv } from './env.js';

/** Who a valid bearer token names and until when it is good, or a DomainError (401) saying why not. */
export type Authenticate = (token: string) => Promise<{ userId: string; sessionId: string; expiresAtMs: number }>;

/**
 * Requires `Authorization: Bearer <token>`; the user and session it names become c.var.userId and
 * c.var.sessionId, its expiry c.var.credentialExpiresAtMs.
 */
export function requireAuth(authenticate: Authenticate): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('Authorization') ?? '';
    // The scheme is case-insensitive (RFC 9110 §11.1); the token is a JWT's three base64url parts.
    const match = /^Bearer +([A-Za-z0-9_\-.]+) *$/i.exec(header);
    if (!match) throw new DomainError('unauthorized', 'Send Authorization: Bearer <access_token>.');
    const { userId, sessionId, expiresAtMs } = await authenticate(match[1]);
    c.set('userId', userId);
    c.set('sessionId', sessionId);
    c.set('credentialExpiresAtMs', expiresAtMs);
    await next();
  };
}
