/**
 * Sessions: ES256 access tokens that name a session, refresh tokens that rotate on every use (a
 * retry within the grace gets the same pair; a later reuse revokes the session), logout of one
 * session or all, and a revocation that reaches another instance within 5 s. Two instances on
 * one database, each with the same signing keys.
 */
import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoOrderClient, type Schemas } from '../../openapi/client.js';
import { eventually } from '../support/eventually.js';
import { expectProblem, sdkAnswer } from '../support/problems.js';
import { startServer, type RunningServer } from '../support/server.js';
import { signAccessToken, signingKey, signingKeysEnv } from '../support/tokens.js';
import { useServer } from '../support/use-server.js';
import { signUp } from '../support/world.js';

const CURRENT = await signingKey('current-key');
const RETIRED = await signingKey('retired-key');
const app = useServer({ AUTH_SIGNING_KEYS: signingKeysEnv(CURRENT, RETIRED) });
let other: RunningServer;

beforeAll(async () => {
  other = await startServer(app.db.url, { AUTH_SIGNING_KEYS: signingKeysEnv(CURRENT, RETIRED) });
});
afterAll(async () => {
  await other?.stop();
});

type Session = Schemas['Session'];

async function signIn(name = 'Session'): Promise<Session> {
  const { data, error } = await createCoOrderClient(app.server.baseUrl).POST('/auth/dev/token', {
    body: { email: `${name.toLowerCase()}-${crypto.randomUUID()}@example.com`, name },
  });
  if (!data) throw new Error(JSON.stringify(error));
  return data;
}

const refresh = (baseUrl: string, refreshToken: string) =>
  createCoOrderClient(baseUrl).POST('/auth/refresh', { body: { refresh_token: refreshToken } });
const me = (baseUrl: string, accessToken: string) => createCoOrderClient(baseUrl, accessToken).GET('/users/me');
const hashOf = (token: string) => createHash('sha256').update(token).digest();

describe('a session', () => {
  it('is an ES256 access token with kid, sub, sid, iat, exp, iss and aud, living at most 15 minutes, that the JWKS verifies', async () => {
    const session = await signIn();
    expect(session).toMatchObject({ token_type: 'Bearer', refresh_token: expect.any(String) });
    expect(session.expires_in).toBeGreaterThan(800);
    expect(session.expires_in).toBeLessThanOrEqual(900);
    expect(decodeProtectedHeader(session.access_token)).toMatchObject({ alg: 'ES256', kid: CURRENT.kid });
    const claims = decodeJwt(session.access_token);
    expect(claims).toMatchObject({ sub: session.user.id, iss: 'co-order', aud: 'co-order-api', sid: expect.any(String) });
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(900);

    const jwks = (await (await fetch(`${app.server.baseUrl}/.well-known/jwks.json`)).json()) as Schemas['Jwks'];
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toEqual([CURRENT.kid, RETIRED.kid]);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(key).not.toHaveProperty('d');
    }
    const published = await importJWK(jwks.keys[0], 'ES256');
    await expect(jwtVerify(session.access_token, published)).resolves.toBeDefined();
  });

  it('keeps only the hash of its refresh token', async () => {
    const session = await signIn();
    const rows = await app.db.sql<{ token_hash: Buffer }[]>`SELECT token_hash FROM refresh_tokens`;
    expect(rows.some((r) => r.token_hash.equals(hashOf(session.refresh_token)))).toBe(true);
    const dump = JSON.stringify(await app.db.sql`SELECT * FROM refresh_tokens`);
    expect(dump).not.toContain(session.refresh_token);
    expect(Buffer.from(session.refresh_token, 'base64url').length).toBeGreaterThanOrEqual(32);
  });
});

describe('refresh', () => {
  it('rotates: a new pair, on either instance, and the old refresh token is spent', async () => {
    const session = await signIn();
    const renewed = await refresh(other.baseUrl, session.refresh_token);
    expect(renewed.response.status).toBe(200);
    expect(renewed.data!.refresh_token).not.toBe(session.refresh_token);
    expect(renewed.data!.user.id).toBe(session.user.id);
    expect(decodeJwt(renewed.data!.access_token).sid).toBe(decodeJwt(session.access_token).sid);
    expect((await me(app.server.baseUrl, renewed.data!.access_token)).response.status).toBe(200);
    const again = await refresh(app.server.baseUrl, renewed.data!.refresh_token);
    expect(again.response.status).toBe(200);
  });

  it('retried within 10 seconds returns the same new pair, and concurrent retries agree', async () => {
    const session = await signIn();
    const answers = await Promise.all([
      refresh(app.server.baseUrl, session.refresh_token),
      refresh(other.baseUrl, session.refresh_token),
      refresh(app.server.baseUrl, session.refresh_token),
    ]);
    for (const answer of answers) expect(answer.response.status).toBe(200);
    const pairs = new Set(answers.map((a) => `${a.data!.access_token} ${a.data!.refresh_token}`));
    expect(pairs.size).toBe(1);
    const [{ live }] = await app.db.sql<{ live: number }[]>`
      SELECT count(*)::int AS live FROM refresh_tokens WHERE session_id = ${decodeJwt(session.access_token).sid as string} AND spent_at IS NULL`;
    expect(live).toBe(1);
  });

  it('reused after the grace revokes the session: 401 refresh_token_reused, and its tokens stop working on both instances within 5 s', async () => {
    const session = await signIn();
    const renewed = (await refresh(app.server.baseUrl, session.refresh_token)).data!;
    // Both instances know the new access token before the reuse.
    expect((await me(app.server.baseUrl, renewed.access_token)).response.status).toBe(200);
    expect((await me(other.baseUrl, renewed.access_token)).response.status).toBe(200);
    await app.db
      .sql`UPDATE refresh_tokens SET spent_at = spent_at - interval '11 seconds' WHERE token_hash = ${hashOf(session.refresh_token)}`;

    expectProblem(sdkAnswer(await refresh(other.baseUrl, session.refresh_token)), 401, 'refresh_token_reused', '/auth/refresh');
    const revokedAt = Date.now();
    for (const server of [app.server, other]) {
      await eventually(
        async () => (await me(server.baseUrl, renewed.access_token)).response.status === 401,
        () => `the revoked session still works on ${server.baseUrl}`,
        { timeoutMs: 5000 },
      );
    }
    expect(Date.now() - revokedAt).toBeLessThan(5000);
    expectProblem(sdkAnswer(await me(app.server.baseUrl, renewed.access_token)), 401, 'session_revoked', '/users/me');
    // The newer refresh token is dead too: the whole session is.
    expectProblem(sdkAnswer(await refresh(app.server.baseUrl, renewed.refresh_token)), 401, 'session_revoked', '/auth/refresh');
  });

  it('refuses an unknown or expired refresh token', async () => {
    expectProblem(sdkAnswer(await refresh(app.server.baseUrl, 'not-a-refresh-token')), 401, 'refresh_token_invalid', '/auth/refresh');
    const session = await signIn();
    await app.db
      .sql`UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = ${hashOf(session.refresh_token)}`;
    expectProblem(sdkAnswer(await refresh(app.server.baseUrl, session.refresh_token)), 401, 'refresh_token_invalid', '/auth/refresh');
  });
});

describe('logout', () => {
  it('revokes this session only: at once here, within 5 s on the other instance; the other session goes on', async () => {
    const first = await signIn('Twice');
    const email = first.user.email!;
    const second = (await createCoOrderClient(app.server.baseUrl).POST('/auth/dev/token', { body: { email, name: 'Twice' } })).data!;
    expect(second.user.id).toBe(first.user.id);
    expect((await me(other.baseUrl, first.access_token)).response.status).toBe(200);

    const out = await createCoOrderClient(app.server.baseUrl, first.access_token).POST('/auth/logout', {});
    expect(out.response.status).toBe(204);
    expectProblem(sdkAnswer(await me(app.server.baseUrl, first.access_token)), 401, 'session_revoked', '/users/me');
    await eventually(
      async () => (await me(other.baseUrl, first.access_token)).response.status === 401,
      () => 'the other instance still accepts the signed-out session',
      { timeoutMs: 5000 },
    );
    expectProblem(sdkAnswer(await refresh(other.baseUrl, first.refresh_token)), 401, 'session_revoked', '/auth/refresh');
    expect((await me(other.baseUrl, second.access_token)).response.status).toBe(200);
  });

  it('with {"all": true} revokes every session of the user', async () => {
    const first = await signIn('Everywhere');
    const second = (
      await createCoOrderClient(app.server.baseUrl).POST('/auth/dev/token', { body: { email: first.user.email!, name: 'Everywhere' } })
    ).data!;
    const bystander = await signUp(app.server.baseUrl, 'Bystander');
    expect((await me(other.baseUrl, second.access_token)).response.status).toBe(200);
    const out = await createCoOrderClient(other.baseUrl, first.access_token).POST('/auth/logout', { body: { all: true } });
    expect(out.response.status).toBe(204);
    for (const token of [first.access_token, second.access_token]) {
      for (const server of [other, app.server]) {
        await eventually(
          async () => (await me(server.baseUrl, token)).response.status === 401,
          () => 'a session of the user survived logout of all',
          { timeoutMs: 5000 },
        );
      }
    }
    expect((await me(app.server.baseUrl, bystander.token)).response.status).toBe(200);
    const [{ revoked }] = await app.db.sql<{ revoked: number }[]>`
      SELECT count(*)::int AS revoked FROM sessions WHERE user_id = ${first.user.id} AND revoked_reason = 'logout_all'`;
    expect(revoked).toBe(2);
  });

  it('refuses a body that is not the schema', async () => {
    const session = await signIn();
    const answer = await createCoOrderClient(app.server.baseUrl, session.access_token).POST('/auth/logout', {
      body: { all: 'yes' } as never,
    });
    expectProblem(sdkAnswer(answer), 400, 'validation_failed', '/auth/logout');
    expect((await me(app.server.baseUrl, session.access_token)).response.status).toBe(200);
  });
});

describe('signing keys', () => {
  it('a token signed by the retired key is accepted until it expires, and refused after', async () => {
    const session = await signIn();
    const { sub, sid } = decodeJwt(session.access_token) as { sub: string; sid: string };
    const now = Math.floor(Date.now() / 1000);
    const live = await signAccessToken(RETIRED, { sub, sid, iat: now - 60, exp: now + 300 });
    expect((await me(other.baseUrl, live)).response.status).toBe(200);
    // Past its expiry by more than the 30 s the service allows for clock skew.
    const expired = await signAccessToken(RETIRED, { sub, sid, iat: now - 900, exp: now - 60 });
    expectProblem(sdkAnswer(await me(other.baseUrl, expired)), 401, 'token_expired', '/users/me');
  });

  it('a key removed from the configuration no longer verifies anything', async () => {
    const session = await signIn();
    const rotated = await startServer(app.db.url, { AUTH_SIGNING_KEYS: signingKeysEnv(RETIRED) });
    try {
      expectProblem(sdkAnswer(await me(rotated.baseUrl, session.access_token)), 401, 'token_invalid', '/users/me');
      // Its own tokens are signed by what is now its first key.
      const signed = (
        await createCoOrderClient(rotated.baseUrl).POST('/auth/dev/token', { body: { email: session.user.email!, name: 'x' } })
      ).data!;
      expect(decodeProtectedHeader(signed.access_token).kid).toBe(RETIRED.kid);
      expect((await me(app.server.baseUrl, signed.access_token)).response.status).toBe(200);
    } finally {
      expect(await rotated.stop()).toBe(0);
    }
  });
});
