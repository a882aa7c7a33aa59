/**
 * Sign-in with OpenID Connect, against a real provider (oidc-provider on loopback, see
 * test/support/oidc-provider.ts) and two instances of the service on one database: the browser
 * flow (authorize → the provider's login and consent → callback, which may reach the other
 * instance), the native apps' exchange of an ID token, who an identity becomes, the service's own
 * signing keys, and what happens when the provider rotates its keys or is down.
 *
 * The provider's client is registered with one redirect URI, instance A's callback, and both
 * instances are configured with it; a test takes the provider's redirect back and fetches its path
 * and query on whichever instance it means. Every refused sign-in is also checked to have created
 * nothing (users, and sessions and identities).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import {
  UnsecuredJWT,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type JWK,
  type JSONWebKeySet,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoOrderClient } from '../../openapi/client.js';
import {
  denyAtProvider,
  generateSigningKey,
  signInAtProvider,
  startOidcProvider,
  type AccountClaims,
  type PrivateSigningJwk,
  type RunningOidcProvider,
} from '../support/oidc-provider.js';
import { eventually } from '../support/eventually.js';
import { answerOf, expectProblem, snapshot, type Answer } from '../support/problems.js';
import { startServer, type RunningServer } from '../support/server.js';
import { useDatabase } from '../support/use-server.js';
import { freePort } from '../support/urls.js';

const CLIENT_ID = 'co-order-test-client';
const CLIENT_SECRET = randomBytes(24).toString('base64url');
const CALLBACK_PATH = '/auth/oidc/test/callback';

interface Session {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  user: { id: string; email: string | null; name: string };
}

const app = useDatabase();
/** The service's own signing keys (AUTH_SIGNING_KEYS): the first signs, the second only verifies. */
let serviceKeys: JWK[];
let provider: RunningOidcProvider;
/** Two instances on one database, both configured with `redirectUri` (A's callback). */
let a: RunningServer;
let b: RunningServer;
let redirectUri: string;
/** A private key the provider has never published. */
let strayKey: PrivateSigningJwk;

async function serviceKey(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid };
}

const publicPart = ({ d: _d, ...rest }: JWK): JWK => rest;

function oidcEnv(issuer: string): Record<string, string> {
  return {
    OIDC_PROVIDERS: 'test',
    OIDC_TEST_ISSUER: issuer,
    OIDC_TEST_CLIENT_ID: CLIENT_ID,
    OIDC_TEST_CLIENT_SECRET: CLIENT_SECRET,
    OIDC_TEST_REDIRECT_URI: redirectUri,
    AUTH_SIGNING_KEYS: JSON.stringify({ keys: serviceKeys }),
  };
}

beforeAll(async () => {
  serviceKeys = [await serviceKey(`service-${randomUUID()}`), await serviceKey(`service-${randomUUID()}`)];
  strayKey = await generateSigningKey('RS256');
  const portA = await freePort();
  redirectUri = `http://127.0.0.1:${portA}${CALLBACK_PATH}`;
  provider = await startOidcProvider({ client: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [redirectUri] } });
  [a, b] = await Promise.all([
    startServer(app.db.url, { ...oidcEnv(provider.issuer), PORT: String(portA) }),
    startServer(app.db.url, oidcEnv(provider.issuer)),
  ]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await provider?.stop();
});

const newSub = () => `sub-${randomUUID()}`;
const newEmail = (label: string) => `${label}-${randomUUID()}@example.com`;
const json = { 'Content-Type': 'application/json' };

/** GET /auth/oidc/{name}/authorize on `server`, not following the redirect. */
async function authorize(server: RunningServer, name = 'test'): Promise<Response> {
  return fetch(`${server.baseUrl}/auth/oidc/${name}/authorize`, { redirect: 'manual' });
}

/** Starts a login on `server`: the provider's authorization URL it redirects to. */
async function startLogin(server: RunningServer): Promise<URL> {
  const response = await authorize(server);
  expect(response.status, await response.text()).toBe(302);
  return new URL(response.headers.get('location')!);
}

/** Fetches, on `server`, the callback the provider redirected the browser to (which names instance A). */
async function callback(server: RunningServer, providerRedirect: string): Promise<Answer> {
  const back = new URL(providerRedirect);
  expect(`${back.origin}${back.pathname}`).toBe(redirectUri);
  return answerOf(await fetch(`${server.baseUrl}${back.pathname}${back.search}`, { redirect: 'manual' }));
}

/** The whole browser flow for `sub` with `account` at the provider: authorize on A, callback on B (or `callbackOn`). */
async function signInThroughProvider(sub: string, account: AccountClaims, callbackOn = b): Promise<Answer> {
  provider.setAccount(sub, account);
  const authorizeUrl = await startLogin(a);
  return callback(callbackOn, await signInAtProvider(authorizeUrl.href, sub));
}

/** POST /auth/oidc/{name}/token on `server`. */
async function exchange(server: RunningServer, body: Record<string, unknown>, name = 'test'): Promise<Answer> {
  return answerOf(await fetch(`${server.baseUrl}/auth/oidc/${name}/token`, { method: 'POST', headers: json, body: JSON.stringify(body) }));
}

/** A native app's sign-in: an ID token for `sub` with `account`'s claims and a nonce, exchanged on A. */
async function signInWithIdToken(sub: string, account: AccountClaims): Promise<Answer> {
  const nonce = randomUUID();
  return exchange(a, { id_token: await provider.signIdToken({ sub, nonce, ...account }), nonce });
}

/** A 200 session as the contract has it, its access token an ES256 JWT of the first service key. */
async function expectSession(answer: Answer): Promise<Session> {
  expect(answer.response.status, JSON.stringify(answer.body)).toBe(200);
  const session = answer.body as Session;
  expect(session).toMatchObject({
    access_token: expect.any(String),
    token_type: 'Bearer',
    expires_in: expect.any(Number),
    refresh_token: expect.any(String),
    user: { id: expect.any(String), name: expect.any(String) },
  });
  expect(session.expires_in).toBeGreaterThan(0);
  expect(session.expires_in).toBeLessThanOrEqual(900);
  expect(session.refresh_token.length).toBeGreaterThan(0);
  expect(session.refresh_token).not.toBe(session.access_token);
  expect(session.user.email === null || typeof session.user.email === 'string', `email ${session.user.email}`).toBe(true);

  expect(decodeProtectedHeader(session.access_token)).toMatchObject({ alg: 'ES256', kid: serviceKeys[0].kid });
  const { payload } = await jwtVerify(session.access_token, createLocalJWKSet({ keys: serviceKeys.map(publicPart) }));
  expect(payload).toMatchObject({
    sub: session.user.id,
    sid: expect.any(String),
    iat: expect.any(Number),
    exp: expect.any(Number),
    iss: expect.any(String),
  });
  expect(typeof payload.aud === 'string' || (Array.isArray(payload.aud) && payload.aud.length > 0), `aud ${payload.aud}`).toBe(true);
  expect(Math.abs(payload.exp! - Math.floor(Date.now() / 1000) - session.expires_in)).toBeLessThanOrEqual(5);
  return session;
}

/** GET /users/me on `server` with `token`. */
const me = (server: RunningServer, token: string) => createCoOrderClient(server.baseUrl, token).GET('/users/me');

/** A user made with the development login. */
async function devUser(email: string, name: string) {
  const { data, error } = await createCoOrderClient(a.baseUrl).POST('/auth/dev/token', { body: { email, name } });
  if (!data) throw new Error(`dev login failed: ${JSON.stringify(error)}`);
  return data;
}

const userCount = async () => (await app.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM users`)[0].n;

/** What a refused sign-in must leave as it was: the users and their data, and the sessions and identities the service keeps. */
async function stored(): Promise<Record<string, unknown>> {
  const tables = await app.db.sql<{ name: string }[]>`
    SELECT relname AS name FROM pg_class
    WHERE relname IN ('sessions', 'refresh_tokens', 'user_identities') AND relkind = 'r' AND pg_table_is_visible(oid)
    ORDER BY relname`;
  const counts: Record<string, number> = {};
  for (const { name } of tables)
    counts[name] = (await app.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ${app.db.sql(name)}`)[0].n;
  return { ...(await snapshot(app.db.sql)), ...counts };
}

/** Sends a refused request, checks that it is the problem expected, and that nothing was stored. */
async function expectRefused(send: () => Promise<Answer>, status: number, code: string): Promise<Answer> {
  const before = await stored();
  const answer = await send();
  expectProblem(answer, status, code);
  expect(await stored()).toEqual(before);
  return answer;
}

/** Retry-After as delta-seconds (at least 1) or an HTTP date not in the past. */
function expectRetryAfter(response: Response) {
  const value = response.headers.get('retry-after');
  expect(value, 'Retry-After').toMatch(/^(\d+|[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT)$/);
  if (/^\d+$/.test(value!)) expect(Number(value)).toBeGreaterThanOrEqual(1);
  else expect(Date.parse(value!)).toBeGreaterThanOrEqual(Date.now() - 1000);
}

/**
 * The service refetches a provider's key set on a kid it does not know, but (against a flood of
 * made-up kids) not more often than a short cooldown after its last fetch allows; within it such a
 * token is a 401. Sends `send` until the answer has `status`, 15 s at most, each answer before it
 * having to be that 401.
 */
async function afterRefetchCooldown(send: () => Promise<Answer>, status: number): Promise<Answer> {
  let last: Answer | undefined;
  return eventually(
    async () => {
      last = await send();
      if (last.response.status === status) return last;
      expectProblem(last, 401, 'id_token_invalid');
      return undefined;
    },
    () => `no ${status} in 15 s, last: ${last?.response.status} ${JSON.stringify(last?.body)}`,
    { everyMs: 250, timeoutMs: 15_000 },
  );
}

describe('sign-in through the provider', () => {
  it('authorize redirects to the provider with response_type=code, S256 PKCE, a state, a nonce and the openid scope', async () => {
    const discovery = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
    const first = await startLogin(a);
    expect(`${first.origin}${first.pathname}`).toBe(discovery.authorization_endpoint);
    const params = first.searchParams;
    expect(params.get('response_type')).toBe('code');
    expect(params.get('client_id')).toBe(CLIENT_ID);
    expect(params.get('redirect_uri')).toBe(redirectUri);
    expect(params.get('code_challenge_method')).toBe('S256');
    // base64url of a SHA-256: 43 characters.
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('state')!.length).toBeGreaterThanOrEqual(16);
    expect(params.get('nonce')!.length).toBeGreaterThanOrEqual(16);
    expect(params.get('scope')!.split(' ')).toContain('openid');

    const second = (await startLogin(b)).searchParams;
    for (const name of ['state', 'nonce', 'code_challenge']) expect(second.get(name), name).not.toBe(params.get(name));
  });

  it('a login started on one instance ends on the other, with an access token that works on both', async () => {
    const sub = newSub();
    const email = newEmail('browser');
    provider.setAccount(sub, { email, email_verified: true, name: 'Browser Kim' });
    const authorizeUrl = await startLogin(a);
    const providerRedirect = await signInAtProvider(authorizeUrl.href, sub);
    expect(new URL(providerRedirect).searchParams.get('state')).toBe(authorizeUrl.searchParams.get('state'));

    const session = await expectSession(await callback(b, providerRedirect));
    expect(session.user).toMatchObject({ email, name: 'Browser Kim' });
    for (const server of [a, b]) {
      const mine = await me(server, session.access_token);
      expect(mine.response.status, server.baseUrl).toBe(200);
      expect(mine.data).toMatchObject({ id: session.user.id, email, name: 'Browser Kim' });
    }
  });

  it('signing in again with the same subject is the same user', async () => {
    const sub = newSub();
    const account = { email: newEmail('twice'), email_verified: true, name: 'Twice' };
    const before = await userCount();
    const first = await expectSession(await signInThroughProvider(sub, account));
    const second = await expectSession(await signInThroughProvider(sub, account));
    expect(second.user.id).toBe(first.user.id);
    expect(second.access_token).not.toBe(first.access_token);
    expect(await userCount()).toBe(before + 1);
  });

  it('a state already used is refused: replaying the callback is a 400 oidc_state_invalid and stores nothing', async () => {
    const sub = newSub();
    provider.setAccount(sub, { email: newEmail('replay'), email_verified: true, name: 'Replay' });
    const providerRedirect = await signInAtProvider((await startLogin(a)).href, sub);
    await expectSession(await callback(b, providerRedirect));
    await expectRefused(() => callback(a, providerRedirect), 400, 'oidc_state_invalid');
    await expectRefused(() => callback(b, providerRedirect), 400, 'oidc_state_invalid');
  });

  it('a state the service never issued is a 400 oidc_state_invalid and stores nothing', async () => {
    const forged = new URL(redirectUri);
    forged.searchParams.set('code', randomBytes(32).toString('base64url'));
    forged.searchParams.set('state', randomBytes(32).toString('base64url'));
    await expectRefused(() => callback(b, forged.href), 400, 'oidc_state_invalid');
  });

  it('the person cancelling at the provider is a 400 oidc_login_refused and stores nothing', async () => {
    const authorizeUrl = await startLogin(a);
    const providerRedirect = await denyAtProvider(authorizeUrl.href);
    const back = new URL(providerRedirect).searchParams;
    expect({ error: back.get('error'), state: back.get('state'), code: back.get('code') }).toEqual({
      error: 'access_denied',
      state: authorizeUrl.searchParams.get('state'),
      code: null,
    });
    await expectRefused(() => callback(b, providerRedirect), 400, 'oidc_login_refused');
  });
});

describe('native apps: exchanging an ID token', () => {
  it('an ID token the provider issued to the app is exchanged for a session of that person', async () => {
    // The app's own code flow against the provider, with openid-client as the relying party.
    const sub = newSub();
    const email = newEmail('native');
    provider.setAccount(sub, { email, email_verified: true, name: 'Native Lee' });
    const config = await client.discovery(new URL(provider.issuer), CLIENT_ID, CLIENT_SECRET, undefined, {
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const authorizeUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const tokens = await client.authorizationCodeGrant(config, new URL(await signInAtProvider(authorizeUrl.href, sub)), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    expect(tokens.claims()).toMatchObject({ sub, email, email_verified: true, name: 'Native Lee', aud: CLIENT_ID });

    const session = await expectSession(await exchange(a, { id_token: tokens.id_token, nonce }));
    expect(session.user).toMatchObject({ email, name: 'Native Lee' });
    expect((await me(b, session.access_token)).data).toMatchObject({ id: session.user.id, email });
  });

  it('exchanging again for the same subject, on either instance, is the same user', async () => {
    const sub = newSub();
    const account = { email: newEmail('again'), email_verified: true, name: 'Again' };
    const before = await userCount();
    const first = await expectSession(await exchange(a, { id_token: await provider.signIdToken({ sub, ...account }) }));
    const second = await expectSession(await exchange(b, { id_token: await provider.signIdToken({ sub, ...account }) }));
    expect(second.user.id).toBe(first.user.id);
    expect(await userCount()).toBe(before + 1);
  });

  const now = () => Math.floor(Date.now() / 1000);
  const refused: { name: string; make: (sub: string) => Promise<Record<string, unknown>> }[] = [
    {
      name: 'an audience other than the client id',
      make: async (sub) => ({ id_token: await provider.signIdToken({ sub, aud: 'another-client' }) }),
    },
    {
      name: 'an issuer other than the provider',
      make: async (sub) => ({ id_token: await provider.signIdToken({ sub, iss: 'http://127.0.0.1:9/another-issuer' }) }),
    },
    {
      name: 'a nonce other than the one sent',
      make: async (sub) => ({ id_token: await provider.signIdToken({ sub, nonce: randomUUID() }), nonce: randomUUID() }),
    },
    { name: 'no nonce when one was sent', make: async (sub) => ({ id_token: await provider.signIdToken({ sub }), nonce: randomUUID() }) },
    {
      name: 'an expiry an hour ago',
      make: async (sub) => ({ id_token: await provider.signIdToken({ sub, iat: now() - 7200, exp: now() - 3600 }) }),
    },
    {
      name: 'a key the provider does not publish',
      make: async (sub) => ({ id_token: await provider.signIdToken({ sub }, { key: strayKey }) }),
    },
    {
      name: 'a stray key under a published kid',
      make: async (sub) => ({ id_token: await provider.signIdToken({ sub }, { key: strayKey, kid: provider.keys[0].kid }) }),
    },
    {
      name: 'no signature (alg none)',
      make: async (sub) => ({
        id_token: new UnsecuredJWT({ sub, email: newEmail('unsigned'), email_verified: true })
          .setIssuer(provider.issuer)
          .setAudience(CLIENT_ID)
          .setIssuedAt()
          .setExpirationTime('10m')
          .encode(),
      }),
    },
  ];

  it.each(refused)('an ID token with $name is a 401 id_token_invalid and stores nothing', async ({ make }) => {
    const body = await make(newSub());
    await expectRefused(() => exchange(a, body), 401, 'id_token_invalid');
  });
});

describe('who an identity becomes', () => {
  const ways = [
    { way: 'the sign-in through the provider', signIn: signInThroughProvider },
    { way: 'the ID token exchange', signIn: signInWithIdToken },
  ];

  it.each(ways)('through $way, an unverified email does not take over the account that has it', async ({ signIn }) => {
    const email = newEmail('owner');
    const owner = await devUser(email, 'Owner');
    const session = await expectSession(await signIn(newSub(), { email, email_verified: false, name: 'Impostor' }));
    expect(session.user.id).not.toBe(owner.user.id);
    expect(session.user.email).toBeNull();

    expect((await me(b, owner.access_token)).data).toMatchObject({ id: owner.user.id, email, name: 'Owner' });
    expect((await me(b, session.access_token)).data).toMatchObject({ id: session.user.id, email: null });
    expect((await devUser(email, 'Owner')).user.id).toBe(owner.user.id);
  });

  it.each(ways)('through $way, a verified email of a new user becomes their email', async ({ signIn }) => {
    const email = newEmail('verified');
    const before = await userCount();
    const session = await expectSession(await signIn(newSub(), { email, email_verified: true, name: 'Verified Park' }));
    expect(session.user).toMatchObject({ email, name: 'Verified Park' });
    expect(await userCount()).toBe(before + 1);
    const [row] = await app.db.sql<{ email: string | null }[]>`SELECT email FROM users WHERE id = ${session.user.id}`;
    expect(row.email).toBe(email);
  });

  it.each(ways)('through $way, a verified email of an existing account signs in to that account', async ({ signIn }) => {
    const email = newEmail('linked');
    const owner = await devUser(email, 'Linked');
    const before = await userCount();
    const session = await expectSession(await signIn(newSub(), { email, email_verified: true, name: 'Linked' }));
    expect(session.user).toMatchObject({ id: owner.user.id, email });
    expect(await userCount()).toBe(before);
  });
});

describe('the service signing keys', () => {
  it('GET /.well-known/jwks.json lists every key of AUTH_SIGNING_KEYS, public parts only, on both instances', async () => {
    const expected = serviceKeys.map(({ kid, x, y }) => ({ kty: 'EC', crv: 'P-256', kid, x, y, alg: 'ES256', use: 'sig' }));
    for (const server of [a, b]) {
      const response = await fetch(`${server.baseUrl}/.well-known/jwks.json`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/(jwk-set\+)?json(;|$)/);
      const { keys } = (await response.json()) as JSONWebKeySet;
      expect(keys.length).toBe(serviceKeys.length);
      for (const key of keys) expect(key, key.kid).not.toHaveProperty('d');
      expect(keys.map(({ kty, crv, kid, x, y, alg, use }) => ({ kty, crv, kid, x, y, alg, use }))).toEqual(
        expect.arrayContaining(expected),
      );
    }
  });

  it('a session access token verifies against the published key set', async () => {
    const session = await expectSession(await signInWithIdToken(newSub(), { email: newEmail('jwks'), email_verified: true, name: 'Jwks' }));
    const published = (await (await fetch(`${b.baseUrl}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    const { payload } = await jwtVerify(session.access_token, createLocalJWKSet(published), { algorithms: ['ES256'] });
    expect(payload.sub).toBe(session.user.id);
  });
});

describe('providers the service does not know', () => {
  it('authorize for a provider not configured is a 404 oidc_provider_unknown', async () => {
    expectProblem(await answerOf(await authorize(a, 'nope')), 404, 'oidc_provider_unknown');
  });
});

describe('the provider rotating its keys', () => {
  /**
   * A session under the provider's current key (so the service holds its key set), the provider
   * restarted with a new key only, and the first session under the new key, once the service's
   * refetch cooldown allows.
   */
  async function rotate(): Promise<{ retired: PrivateSigningJwk; before: Session; after: Session }> {
    const sub = newSub();
    const account = { email: newEmail('rotate'), email_verified: true, name: 'Rotate' };
    const before = await expectSession(await exchange(a, { id_token: await provider.signIdToken({ sub, ...account }) }));
    const retired = provider.keys[0];
    await provider.restart({ keys: [await generateSigningKey('RS256')] });
    expect(provider.keys[0].kid).not.toBe(retired.kid);
    const answer = await afterRefetchCooldown(async () => exchange(a, { id_token: await provider.signIdToken({ sub, ...account }) }), 200);
    return { retired, before, after: await expectSession(answer) };
  }

  it('an ID token signed with the new key is accepted, for the same user', async () => {
    const { before, after } = await rotate();
    expect(after.user.id).toBe(before.user.id);
  });

  it('once the new key is in use, an ID token signed with the retired key is a 401 id_token_invalid', async () => {
    const { retired } = await rotate();
    await expectRefused(
      async () => exchange(a, { id_token: await provider.signIdToken({ sub: newSub() }, { key: retired }) }),
      401,
      'id_token_invalid',
    );
  });

  it('a sign-in through the provider, which now signs with the new key, lands a session', async () => {
    await rotate();
    const account = { email: newEmail('after'), email_verified: true, name: 'After' };
    const session = await expectSession(await signInThroughProvider(newSub(), account, a));
    expect(session.user).toMatchObject({ email: account.email });
  });
});

describe('the provider down', () => {
  describe('for a server that has never reached it', () => {
    let down: RunningOidcProvider;
    let fresh: RunningServer;

    beforeAll(async () => {
      down = await startOidcProvider({ client: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [redirectUri] } });
      await down.stop();
      fresh = await startServer(app.db.url, oidcEnv(down.issuer));
    });

    afterAll(async () => {
      await fresh?.stop();
    });

    it('authorize is a 503 identity_provider_unavailable with Retry-After', async () => {
      const { response } = await expectRefused(async () => answerOf(await authorize(fresh)), 503, 'identity_provider_unavailable');
      expectRetryAfter(response);
    });

    it('the ID token exchange is a 503 identity_provider_unavailable with Retry-After and stores nothing', async () => {
      const body = { id_token: await down.signIdToken({ sub: newSub(), email: newEmail('down'), email_verified: true }) };
      const { response } = await expectRefused(() => exchange(fresh, body), 503, 'identity_provider_unavailable');
      expectRetryAfter(response);
    });
  });

  // Last in the file: the provider is brought back, but a service may hold off retrying it a while.
  it('after a sign-in, an ID token under a kid not yet seen is a 503 with Retry-After while the provider is down', async () => {
    await expectSession(await signInWithIdToken(newSub(), { email: newEmail('before'), email_verified: true, name: 'Before' }));
    const unseen = await generateSigningKey('RS256');
    const body = {
      id_token: await provider.signIdToken({ sub: newSub(), email: newEmail('unseen'), email_verified: true }, { key: unseen }),
    };
    await provider.stop();
    try {
      const before = await stored();
      const answer = await afterRefetchCooldown(() => exchange(a, body), 503);
      expectProblem(answer, 503, 'identity_provider_unavailable');
      expectRetryAfter(answer.response);
      expect(await stored()).toEqual(before);
    } finally {
      await provider.restart();
    }
  });
});
