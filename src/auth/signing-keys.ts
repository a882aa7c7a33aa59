import { createHash, hkdfSync, type webcrypto } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { SigningJwk } from '../config.js';

export const ACCESS_TOKEN_ALG = 'ES256';

type CryptoKey = webcrypto.CryptoKey;

/** The private side: what signs access tokens and seals a refresh's answer for its retry grace. */
export interface SigningKey {
  kid: string;
  key: CryptoKey;
}

/** The public side: what verifies access tokens. Nothing here can mint one. */
export interface VerifyingKeys {
  byKid: Map<string, CryptoKey>;
  /** The JWK Set served at /.well-known/jwks.json. */
  jwks: { keys: JWK[] };
}

export interface KeyRing {
  signing: SigningKey;
  verifying: VerifyingKeys;
  /** AES-256-GCM keys derived from each private key, the signing one's first. */
  sealing: Uint8Array[];
}

export async function keyRing(jwks: SigningJwk[]): Promise<KeyRing> {
  const publicJwks = jwks.map(({ kty, crv, x, y, kid }) => ({ kty, crv, x, y, kid, alg: ACCESS_TOKEN_ALG, use: 'sig' }));
  const byKid = new Map<string, CryptoKey>();
  for (const jwk of publicJwks) byKid.set(jwk.kid, (await importJWK(jwk, ACCESS_TOKEN_ALG)) as CryptoKey);
  const first = jwks[0];
  return {
    signing: { kid: first.kid, key: (await importJWK({ ...first, alg: ACCESS_TOKEN_ALG }, ACCESS_TOKEN_ALG)) as CryptoKey },
    verifying: { byKid, jwks: { keys: publicJwks } },
    sealing: jwks.map((jwk) => new Uint8Array(hkdfSync('sha256', Buffer.from(jwk.d, 'base64url'), 'co-order', 'refresh successor', 32))),
  };
}

/** A new private key, for a development database that has none configured. */
export async function generateSigningJwk(): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPair(ACCESS_TOKEN_ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = createHash('sha256').update(`${jwk.x}.${jwk.y}`).digest('base64url').slice(0, 16);
  return { kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y!, d: jwk.d!, kid };
}
