import type { MiddlewareHandler } from 'hono';
import { SignJWT, jwtVerify } from 'jose';
import { DomainError } from '../domain/errors.js';
import type { AppEnv } from './env.js';

const ISSUER = 'co-order';

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
      if (typeof payload.sub !== 'string') throw new Error('token has no subject');
      return payload.sub;
    },
  };
}

/** Requires `Authorization: Bearer <jwt>`; the user id it names becomes c.var.userId. */
export function requireAuth(signer: TokenSigner): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('Authorization') ?? '';
    const match = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(header);
    if (!match) throw new DomainError('unauthorized', 'Send Authorization: Bearer <token>.');
    try {
      c.set('userId', await signer.verify(match[1]));
    } catch {
      throw new DomainError('unauthorized', 'The bearer token is invalid or expired.');
    }
    await next();
  };
}
