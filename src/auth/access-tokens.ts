import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { ACCESS_TOKEN_MAX_SECONDS } from '../config.js';
import { DomainError } from '../domain/errors.js';
import { ACCESS_TOKEN_ALG, type SigningKey, type VerifyingKeys } from './signing-keys.js';

const ISSUER = 'co-order';
const AUDIENCE = 'co-order-api';
// Clocks of instances and clients drift a little; more than this is a token to refuse.
const CLOCK_SKEW_SECONDS = 30;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface AccessClaims {
  userId: string;
  sessionId: string;
  /** When the token expires, ms since the epoch. */
  expiresAtMs: number;
}

export async function issueAccessToken(
  key: SigningKey,
  ttlSeconds: number,
  subject: { userId: string; sessionId: string },
): Promise<{ token: string; expiresAtMs: number }> {
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + Math.min(ttlSeconds, ACCESS_TOKEN_MAX_SECONDS);
  const token = await new SignJWT({ sid: subject.sessionId })
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, kid: key.kid, typ: 'at+jwt' })
    .setSubject(subject.userId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(key.key);
  return { token, expiresAtMs: exp * 1000 };
}

/**
 * The claims of a token one of `keys` signed, every field checked: the right issuer and audience,
 * a user and a session, issued in the past, expiring in the future and no later than the longest
 * lifetime this service gives. Anything else: 401 `token_expired` or `token_invalid`.
 */
export async function verifyAccessToken(keys: VerifyingKeys, token: string): Promise<AccessClaims> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(
      token,
      (header) => {
        const key = header.kid === undefined ? undefined : keys.byKid.get(header.kid);
        if (!key) throw new Error('no key with this kid');
        return key;
      },
      {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: [ACCESS_TOKEN_ALG],
        typ: 'at+jwt',
        requiredClaims: ['sub', 'sid', 'iat', 'exp'],
        clockTolerance: CLOCK_SKEW_SECONDS,
      },
    ));
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw new DomainError('token_expired', 'The access token has expired: refresh the session.');
    throw new DomainError('token_invalid', 'The access token is not one this service issued.');
  }
  const { sub, sid, iat, exp } = payload as JWTPayload & { sid?: unknown };
  const now = Date.now() / 1000;
  const wellFormed =
    typeof sub === 'string' &&
    UUID.test(sub) &&
    typeof sid === 'string' &&
    UUID.test(sid) &&
    typeof iat === 'number' &&
    typeof exp === 'number' &&
    iat <= now + CLOCK_SKEW_SECONDS &&
    exp > iat &&
    exp - iat <= ACCESS_TOKEN_MAX_SECONDS;
  if (!wellFormed) throw new DomainError('token_invalid', 'The access token is not one this service issued.');
  return { userId: sub, sessionId: sid, expiresAtMs: exp * 1000 };
}
