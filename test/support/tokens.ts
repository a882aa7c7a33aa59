/**
 * Signing keys a test gives its server (AUTH_SIGNING_KEYS), and access tokens signed with them as
 * the server would, or wrong in exactly one way.
 */
import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import { generateSigningJwk } from '../../src/auth/signing-keys.js';
import type { SigningJwk } from '../../src/config.js';

export async function signingKey(kid?: string): Promise<SigningJwk> {
  const jwk = await generateSigningJwk();
  return kid ? { ...jwk, kid } : jwk;
}

/** The value of AUTH_SIGNING_KEYS for these keys, the first signing. */
export const signingKeysEnv = (...keys: SigningJwk[]) => JSON.stringify({ keys });

export interface TokenClaims {
  sub?: string;
  sid?: string;
  iss?: string;
  aud?: string;
  iat?: number;
  exp?: number;
  nbf?: number;
}

/** An access token as the service makes them, with `claims` replacing (or, set to undefined, removing) its own. */
export async function signAccessToken(key: SigningJwk, claims: TokenClaims, header: { kid?: string; typ?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    sub: randomUUID(),
    sid: randomUUID(),
    iss: 'co-order',
    aud: 'co-order-api',
    iat: now,
    exp: now + 600,
  };
  for (const [name, value] of Object.entries(claims)) {
    if (value === undefined) delete payload[name];
    else payload[name] = value;
  }
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', kid: 'kid' in header ? header.kid : key.kid, typ: header.typ ?? 'at+jwt' })
    .sign(await importJWK({ ...key, alg: 'ES256' }, 'ES256'));
}
