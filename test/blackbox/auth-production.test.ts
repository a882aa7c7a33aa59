/**
 * Production works end to end: the service started as it is deployed (NODE_ENV=production, its own
 * signing keys in AUTH_SIGNING_KEYS, one OpenID provider, `google`), where a person signs in
 * through the provider (authorize → the provider's login and consent → callback), orders, refreshes
 * and logs out, and nothing else lets anyone in: no development login, no token signed by a key
 * that AUTH_SIGNING_KEYS does not list, no start without signing keys, with an http:// issuer or
 * with the development login switched on, and no provider whose certificate it does not trust.
 *
 * A production issuer must be https: the provider (test/support/oidc-provider.ts) serves TLS with a
 * certificate for 127.0.0.1 from a certificate authority this file makes, which the service trusts
 * through NODE_EXTRA_CA_CERTS (a PEM file) and the provider walks of this process through `ca`.
 * The database is cloned from the seeded template, so the demo stores are there although
 * production seeds none. Every refused attempt is checked to have changed nothing stored.
 */
import { UNREACHABLE_PAYMENTS_ENV } from '../support/payment-provider.js';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UnsecuredJWT, createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoOrderClient, type Schemas } from '../../openapi/client.js';
import { signInAtProvider, startOidcProvider, type RunningOidcProvider } from '../support/oidc-provider.js';
import { openOrder } from '../support/orders.js';
import { answerOf, expectProblem, sdkAnswer, snapshot, type Answer } from '../support/problems.js';
import { startServer, type RunningServer } from '../support/server.js';
import { signAccessToken, signingKey, signingKeysEnv } from '../support/tokens.js';
import { useDatabase, type ServerEnv } from '../support/use-server.js';
import { freePort } from '../support/urls.js';
import { JEONJU, expectLedgerBalanced } from '../support/world.js';

type Session = Schemas['Session'];

const PROVIDER = 'google';
const CLIENT_ID = 'co-order-production-test.apps.example.com';
const CLIENT_SECRET = randomBytes(24).toString('base64url');
const CALLBACK_PATH = `/auth/oidc/${PROVIDER}/callback`;
/** AUTH_SIGNING_KEYS: the first signs, the second (a previous key) only verifies. */
const KEYS = [await signingKey(`current-${randomUUID()}`), await signingKey(`previous-${randomUUID()}`)];
/** A key of the right kind that AUTH_SIGNING_KEYS does not list. */
const STRANGER = await signingKey(`stranger-${randomUUID()}`);

const app = useDatabase();
let certDir: string;
/** The test CA's certificate (PEM), also at `caFile` for NODE_EXTRA_CA_CERTS. */
let caCert: string;
let caFile: string;
let provider: RunningOidcProvider;
let server: RunningServer;
let redirectUri: string;

/** A certificate authority, and a server certificate it issued for 127.0.0.1 (SAN IP:127.0.0.1). */
async function makeCertificates() {
  const ca = await generate([{ name: 'commonName', value: 'co-order test CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const leaf = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  });
  return { ca: ca.cert, leaf: { key: leaf.private, cert: leaf.cert } };
}

/** The service as deployed: production, its signing keys, the provider trusted through the test CA; `overrides` last. */
function productionEnv(overrides: ServerEnv = {}): ServerEnv {
  return {
    NODE_ENV: 'production',
    // Left out: the service's own production defaults (no development login, no demo seeding).
    AUTH_DEV_LOGIN: undefined,
    SEED_DEMO_DATA: undefined,
    AUTH_SIGNING_KEYS: signingKeysEnv(...KEYS),
    ...UNREACHABLE_PAYMENTS_ENV,
    NODE_EXTRA_CA_CERTS: caFile,
    OIDC_PROVIDERS: PROVIDER,
    OIDC_GOOGLE_ISSUER: provider.issuer,
    OIDC_GOOGLE_CLIENT_ID: CLIENT_ID,
    OIDC_GOOGLE_CLIENT_SECRET: CLIENT_SECRET,
    OIDC_GOOGLE_REDIRECT_URI: redirectUri,
    ...overrides,
  };
}

beforeAll(async () => {
  const certificates = await makeCertificates();
  caCert = certificates.ca;
  certDir = await mkdtemp(path.join(tmpdir(), 'co-order-production-ca-'));
  caFile = path.join(certDir, 'ca.pem');
  await writeFile(caFile, caCert);
  const port = await freePort();
  redirectUri = `http://127.0.0.1:${port}${CALLBACK_PATH}`;
  provider = await startOidcProvider({
    client: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [redirectUri] },
    tls: certificates.leaf,
  });
  server = await startServer(app.db.url, productionEnv({ PORT: String(port) }));
});

afterAll(async () => {
  await server?.stop();
  await provider?.stop();
  if (certDir) await rm(certDir, { recursive: true, force: true });
});

const json = { 'Content-Type': 'application/json' };
const hashOf = (token: string) => createHash('sha256').update(token).digest();
const me = (token: string) => createCoOrderClient(server.baseUrl, token).GET('/users/me');
const refresh = (refreshToken: string) =>
  createCoOrderClient(server.baseUrl).POST('/auth/refresh', { body: { refresh_token: refreshToken } });
const newPerson = (label: string) => ({ sub: `${label}-${randomUUID()}`, email: `${label}-${randomUUID()}@example.com`, name: label });

/** What a refused attempt must leave as it was: the users and their data, and the sessions, tokens, identities, logins and secrets. */
async function stored(): Promise<Record<string, unknown>> {
  const [auth] = await app.db.sql`
    SELECT
      (SELECT count(*)::int FROM sessions) AS sessions,
      (SELECT count(*)::int FROM sessions WHERE revoked_at IS NOT NULL) AS revoked_sessions,
      (SELECT count(*)::int FROM refresh_tokens) AS refresh_tokens,
      (SELECT count(*)::int FROM refresh_tokens WHERE spent_at IS NOT NULL) AS spent_refresh_tokens,
      (SELECT count(*)::int FROM user_identities) AS identities,
      (SELECT count(*)::int FROM oidc_logins) AS oidc_logins,
      (SELECT count(*)::int FROM service_secrets) AS service_secrets`;
  return { ...(await snapshot(app.db.sql)), ...auth };
}

/** Sends a refused request, checks that it is the problem expected, and that nothing was stored. */
async function expectRefused(send: () => Promise<Answer>, status: number, code: string): Promise<Answer> {
  const before = await stored();
  const answer = await send();
  expectProblem(answer, status, code);
  expect(await stored()).toEqual(before);
  return answer;
}

/** Starts the service with `env` on this file's database: it must exit with 1 before listening, saying `message`, and store nothing. */
async function expectRefusedStart(env: ServerEnv, message: string) {
  const before = await stored();
  let started: RunningServer | undefined;
  const attempt = startServer(app.db.url, env).then((running) => (started = running));
  try {
    await expect(attempt).rejects.toThrow(/^server exited with 1 before listening:/);
    await expect(attempt).rejects.toThrow(message);
  } finally {
    await started?.stop();
  }
  expect(await stored()).toEqual(before);
}

/** GET /auth/oidc/google/authorize, not following the redirect. */
const authorize = (on: RunningServer = server) => fetch(`${on.baseUrl}/auth/oidc/${PROVIDER}/authorize`, { redirect: 'manual' });

/** The browser flow for `person` (their email verified at the provider): authorize → the provider's pages → callback. */
async function signInThroughProvider(person: { sub: string; email: string; name: string }): Promise<Answer> {
  provider.setAccount(person.sub, { email: person.email, email_verified: true, name: person.name });
  const started = await authorize();
  expect(started.status, await started.text()).toBe(302);
  const authorizeUrl = new URL(started.headers.get('location')!);
  expect(authorizeUrl.protocol).toBe('https:');
  expect(authorizeUrl.origin).toBe(provider.issuer);
  const back = new URL(await signInAtProvider(authorizeUrl.href, person.sub, { ca: caCert }));
  expect(`${back.origin}${back.pathname}`).toBe(redirectUri);
  expect(back.searchParams.get('code')).toBeTruthy();
  return answerOf(await fetch(`${server.baseUrl}${back.pathname}${back.search}`, { redirect: 'manual' }));
}

/** A 200 session whose access token the service's first key signed, as its JWKS publishes it. */
async function expectSession(answer: Answer): Promise<Session> {
  expect(answer.response.status, JSON.stringify(answer.body)).toBe(200);
  const session = answer.body as Session;
  expect(session).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String), refresh_token: expect.any(String) });
  expect(decodeProtectedHeader(session.access_token)).toMatchObject({ alg: 'ES256', kid: KEYS[0].kid, typ: 'at+jwt' });
  const jwks = (await (await fetch(`${server.baseUrl}/.well-known/jwks.json`)).json()) as Schemas['Jwks'];
  expect(jwks.keys.map((key) => key.kid)).toEqual(KEYS.map((key) => key.kid));
  for (const key of jwks.keys) expect(key).not.toHaveProperty('d');
  const { payload } = await jwtVerify(session.access_token, createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]));
  expect(payload).toMatchObject({ sub: session.user.id, sid: expect.any(String), iss: 'co-order', aud: 'co-order-api' });
  return session;
}

/** A demo store the person can reach its minimum at alone, its cheapest menu, and how many of it reach the minimum. */
async function pickStoreAndMenu(token: string) {
  const client = createCoOrderClient(server.baseUrl, token);
  const stores = await client.GET('/stores', { params: { query: { limit: 100 } } });
  expect(stores.response.status).toBe(200);
  for (const store of stores.data!.items) {
    const menus = await client.GET('/stores/{storeId}/menus', { params: { path: { storeId: store.id } } });
    expect(menus.response.status).toBe(200);
    const cheapest = [...menus.data!.items].sort((a, b) => a.price - b.price)[0];
    if (!cheapest) continue;
    const quantity = Math.max(1, Math.ceil(store.min_order_price / cheapest.price));
    if (quantity <= 10 && quantity * cheapest.price + store.delivery_tip <= 50_000) return { store, menu: cheapest, quantity };
  }
  throw new Error('no demo store to order from: is the database cloned from the seeded template?');
}

describe('a person in production', () => {
  it('signs in through the https provider, orders, refreshes and logs out', async () => {
    const person = newPerson('Production');

    // Sign-in: a session for a new user with the email the provider verified, and the sign-up grant.
    const session = await expectSession(await signInThroughProvider(person));
    expect(session.user).toMatchObject({ email: person.email.toLowerCase(), name: person.name, credit: 50_000 });
    const [identity] = await app.db.sql`SELECT user_id FROM user_identities WHERE provider = ${PROVIDER} AND subject = ${person.sub}`;
    expect(identity).toEqual({ user_id: session.user.id });
    const first = await me(session.access_token);
    expect(first.response.status).toBe(200);
    expect(first.data).toMatchObject({ id: session.user.id, email: person.email.toLowerCase() });

    // An address, a menu in the cart, and an order delivered to that address from the cart.
    const buyer = { client: createCoOrderClient(server.baseUrl, session.access_token) };
    const address = { address: `전주시 덕진구 production ${randomUUID().slice(0, 8)}`, lat: JEONJU.lat, lon: JEONJU.lon };
    const put = await buyer.client.PUT('/users/me/address', { params: { header: { 'If-Match': '*' } }, body: address });
    expect(put.response.status, JSON.stringify(put.error)).toBe(200);
    const { store, menu, quantity } = await pickStoreAndMenu(session.access_token);
    const carted = await buyer.client.PUT('/cart/items/{menuId}', { params: { path: { menuId: menu.id } }, body: { quantity } });
    expect(carted.response.status, JSON.stringify(carted.error)).toBe(200);
    const M = quantity * menu.price;
    const T = store.delivery_tip;
    const share = Math.ceil(M / 2) + Math.ceil(T / 2);
    const { order } = await openOrder(buyer, { store_id: store.id, split_type: 'split' });
    expect(order).toMatchObject({
      store_id: store.id,
      split_type: 'split',
      status: 'pending',
      creator_id: session.user.id,
      delivery: address,
      menu_total: M,
      delivery_tip: T,
      shares: { creator: share, joiner: Math.floor(M / 2) + Math.floor(T / 2) },
    });
    expect(order.items).toEqual([{ user_id: session.user.id, menu_id: menu.id, name: menu.name, quantity, unit_price: menu.price }]);
    expect((await me(session.access_token)).data!.credit).toBe(50_000 - share);
    const ledger = await app.db.sql`SELECT kind, amount, order_id FROM credit_ledger WHERE user_id = ${session.user.id} ORDER BY id`;
    expect(ledger).toEqual([
      { kind: 'signup_grant', amount: 50_000, order_id: null },
      { kind: 'order_charge', amount: -share, order_id: order.id },
    ]);

    // Refresh: a new pair for the same session that works; the old refresh token is spent (a
    // retry within the grace gets the same pair back, never another one).
    const renewed = await refresh(session.refresh_token);
    expect(renewed.response.status, JSON.stringify(renewed.error)).toBe(200);
    expect(renewed.data!.refresh_token).not.toBe(session.refresh_token);
    expect(renewed.data!.user.id).toBe(session.user.id);
    const sid = decodeJwt(session.access_token).sid as string;
    expect(decodeJwt(renewed.data!.access_token).sid).toBe(sid);
    expect(decodeProtectedHeader(renewed.data!.access_token).kid).toBe(KEYS[0].kid);
    expect((await me(renewed.data!.access_token)).data).toMatchObject({ id: session.user.id, credit: 50_000 - share });
    const [old] = await app.db.sql`SELECT spent_at FROM refresh_tokens WHERE token_hash = ${hashOf(session.refresh_token)}`;
    expect(old.spent_at).not.toBeNull();
    const tokensOfSession = async () =>
      (await app.db.sql`SELECT count(*)::int AS n FROM refresh_tokens WHERE session_id = ${sid}`)[0].n as number;
    const minted = await tokensOfSession();
    const retried = await refresh(session.refresh_token);
    expect(retried.response.status).toBe(200);
    expect(retried.data).toEqual(renewed.data);
    expect(await tokensOfSession()).toBe(minted);

    // Logout: the session is revoked; neither its access tokens nor its refresh tokens work any more.
    const out = await createCoOrderClient(server.baseUrl, renewed.data!.access_token).POST('/auth/logout', {});
    expect(out.response.status).toBe(204);
    expectProblem(sdkAnswer(await me(renewed.data!.access_token)), 401, 'session_revoked', '/users/me');
    expectProblem(sdkAnswer(await me(session.access_token)), 401, 'session_revoked', '/users/me');
    expectProblem(sdkAnswer(await refresh(renewed.data!.refresh_token)), 401, 'session_revoked', '/auth/refresh');
    const spent = sdkAnswer(await refresh(session.refresh_token));
    expect(spent.response.status, JSON.stringify(spent.body)).toBe(401);
    const [revoked] = await app.db.sql`SELECT revoked_reason FROM sessions WHERE id = ${sid}`;
    expect(revoked).toEqual({ revoked_reason: 'logout' });

    // The order stands, paid for; every balance is its ledger.
    const [kept] = await app.db.sql`SELECT status, creator_id FROM orders WHERE id = ${order.id}`;
    expect(kept).toEqual({ status: 'pending', creator_id: session.user.id });
    await expectLedgerBalanced(app.db.sql);
  });

  it('signing in again through the provider is the same user, in a new session', async () => {
    const person = newPerson('Returning');
    const first = await expectSession(await signInThroughProvider(person));
    const again = await expectSession(await signInThroughProvider(person));
    expect(again.user.id).toBe(first.user.id);
    expect(decodeJwt(again.access_token).sid).not.toBe(decodeJwt(first.access_token).sid);
    const [{ n }] = await app.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM users WHERE email = ${person.email.toLowerCase()}`;
    expect(n).toBe(1);
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('nothing else lets anyone in', () => {
  it('has no development login: POST /auth/dev/token is 404 dev_login_disabled, for a new email or a known one', async () => {
    const known = await expectSession(await signInThroughProvider(newPerson('Known')));
    for (const body of [
      { email: `nobody-${randomUUID()}@example.com`, name: 'Nobody' },
      { email: known.user.email!, name: 'Impostor' },
    ]) {
      await expectRefused(
        async () =>
          answerOf(await fetch(`${server.baseUrl}/auth/dev/token`, { method: 'POST', headers: json, body: JSON.stringify(body) })),
        404,
        'dev_login_disabled',
      );
    }
  });

  it('takes no access token signed by a key AUTH_SIGNING_KEYS does not list, whatever kid it names', async () => {
    const session = await expectSession(await signInThroughProvider(newPerson('Target')));
    const claims = { sub: session.user.id, sid: decodeJwt(session.access_token).sid as string };
    // The same claims signed by a listed key are taken, the previous (verifying only) key's too:
    // what the forgeries below lack is only the key.
    for (const key of KEYS) expect((await me(await signAccessToken(key, claims))).response.status).toBe(200);

    const forgeries: Record<string, string> = {
      "a stranger's key under the signing key's kid": await signAccessToken(STRANGER, claims, { kid: KEYS[0].kid }),
      "a stranger's key under the previous key's kid": await signAccessToken(STRANGER, claims, { kid: KEYS[1].kid }),
      "a stranger's key under its own kid": await signAccessToken(STRANGER, claims),
      "a stranger's key with no kid": await signAccessToken(STRANGER, claims, { kid: undefined }),
      "the provider's key": await provider.signIdToken({ ...claims, iss: 'co-order', aud: 'co-order-api' }),
      'no key at all (alg none)': new UnsecuredJWT({ ...claims })
        .setIssuer('co-order')
        .setAudience('co-order-api')
        .setIssuedAt()
        .setExpirationTime('10m')
        .encode(),
    };
    for (const [what, token] of Object.entries(forgeries)) {
      const bearer = { ...json, Authorization: `Bearer ${token}` };
      const answers = {
        me: async () => answerOf(await fetch(`${server.baseUrl}/users/me`, { headers: bearer })),
        address: async () =>
          answerOf(
            await fetch(`${server.baseUrl}/users/me/address`, {
              method: 'PUT',
              headers: { ...bearer, 'If-Match': '*' },
              body: JSON.stringify({ address: `forged ${what}`, lat: JEONJU.lat, lon: JEONJU.lon }),
            }),
          ),
        logout: async () =>
          answerOf(await fetch(`${server.baseUrl}/auth/logout`, { method: 'POST', headers: bearer, body: JSON.stringify({ all: true }) })),
      };
      for (const [name, send] of Object.entries(answers)) {
        await expectRefused(send, 401, 'token_invalid').catch((error: Error) => {
          throw new Error(`${what}, ${name}: ${error.message}`);
        });
      }
    }
    // The person's own session went on through it all.
    expect((await me(session.access_token)).data).toMatchObject({ id: session.user.id, address: null });
  });

  it('does not start without AUTH_SIGNING_KEYS', async () => {
    await expectRefusedStart(productionEnv({ AUTH_SIGNING_KEYS: undefined }), 'AUTH_SIGNING_KEYS: required in production');
  });

  it('does not start with an http:// issuer', async () => {
    const insecure = provider.issuer.replace(/^https:/, 'http:');
    await expectRefusedStart(productionEnv({ OIDC_GOOGLE_ISSUER: insecure }), 'OIDC_GOOGLE_ISSUER: must be an https URL');
  });

  it('does not start with the development login switched on', async () => {
    await expectRefusedStart(
      productionEnv({ AUTH_DEV_LOGIN: 'true' }),
      'AUTH_DEV_LOGIN: the passwordless development login cannot be on in production',
    );
  });

  it('does not talk to a provider whose certificate it does not trust: without the CA, authorize is 503 identity_provider_unavailable', async () => {
    const untrusting = await startServer(app.db.url, productionEnv({ NODE_EXTRA_CA_CERTS: undefined }));
    try {
      const answer = await expectRefused(async () => answerOf(await authorize(untrusting)), 503, 'identity_provider_unavailable');
      expect(answer.response.headers.get('location')).toBeNull();
    } finally {
      await untrusting.stop();
    }
  });
});
