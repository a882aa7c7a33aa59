import type { MiddlewareHandler } from 'hono';
import { SignJWT, jwtVerify } from 'jose';
import type { Db } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import { findUser } from '../users/repository.js';
import type { AppEnv } from './env.js';

const ISSUER = 'co-order';
const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface TokenSigner {
  issue(userId: string): Promise<{ token: string; expiresIn: number }>;
  verify(token: string): Promise<string>;
}

export function tokenSigner(secret: string, ttlSeconds: number): TokenSigner {
  const key = new TextEncoder().encode(secret);
  return {
    async issue(userId) {
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setIssuer(ISSUER)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(key);
      return { token, expiresIn: ttlSeconds };
    },
    async verify(token) {
      const { payload } = await jwtVerify(token, key, { issuer: ISSUER, algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || !USER_ID.test(payload.sub)) throw new Error('token subject is not a user id');
      return payload.sub;
    },
  };
}

/** Requires `Authorization: Bearer <jwt>` naming an existing user, whose id becomes c.var.userId. */
export function requireAuth(signer: TokenSigner, db: Db): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('Authorization') ?? '';
    const match = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(header);
    if (!match) throw new DomainError('unauthorized', 'Send Authorization: Bearer <token>.');
    let userId: string;
    try {
      userId = await signer.verify(match[1]);
    } catch {
      throw new DomainError('unauthorized', 'The bearer token is invalid or expired.');
    }
    // A well-signed token for a user this database does not have (e.g. from before a reset): not
    // authenticated, here at the edge, rather than an empty answer or a foreign-key failure later.
    if (!(await findUser(db, userId))) throw new DomainError('unauthorized', 'The token names an unknown user.');
    c.set('userId', userId);
    await next();
  };
}
