/**
 * What a stranger on the network must not get from a freshly started service: a token of their
 * own making accepted, a 5xx or an empty answer for what they send, an outage reported when the
 * pool is merely busy, an answer a cache may keep or a browser may sniff, a browser origin let in
 * uninvited, metrics for the asking, or a production instance with the development defaults.
 * Each refused request leaves the data as it was.
 */
import { UNREACHABLE_PAYMENTS_ENV } from '../support/payment-provider.js';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import postgres from 'postgres';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCoOrderClient } from '../../openapi/client.js';
import { createEmptyDatabase, createTestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { deliveryAt, insertStore, openOrder, type TestStore } from '../support/orders.js';
import { answerOf, expectProblem, sdkAnswer, snapshot, type Answer } from '../support/problems.js';
import { TEST_METRICS_TOKEN, startServer } from '../support/server.js';
import { useServer } from '../support/use-server.js';
import { JEONJU, expectLedgerBalanced, newKey, signUp, type TestUser } from '../support/world.js';
import { signingKey, signingKeysEnv } from '../support/tokens.js';
import { DATABASE_APPLICATION_NAME } from '../../src/db/database.js';

const PRODUCTION_KEYS = signingKeysEnv(await signingKey());

const app = useServer();
let alice: TestUser;
let store: TestStore;

beforeAll(async () => {
  alice = await signUp(app.server.baseUrl, 'Alice');
  store = await insertStore(app.db.sql, { minimum: 1000, tip: 2000, menus: { set: 10_000 } });
});

const ADDRESS = { address: '전북 전주시 덕진구 백제대로 567', ...JEONJU };
const orderBody = (delivery = deliveryAt(JEONJU)) => ({
  store_id: store.id,
  split_type: 'split' as const,
  items: [{ menu_id: store.menus.set, quantity: 1 }],
  delivery,
});

/** Raw HTTP as Alice (or as `token`), for what the SDK will not send. */
async function raw(method: string, path: string, init: { headers?: Record<string, string>; body?: string; token?: string | null } = {}) {
  const token = init.token === undefined ? alice.token : init.token;
  const headers = { ...(token === null ? {} : { Authorization: `Bearer ${token}` }), ...init.headers };
  return answerOf(await fetch(app.server.baseUrl + path, { method, headers, body: init.body }));
}
const json = { 'Content-Type': 'application/json' };

/** Sends a refused request and checks that it is the problem expected and that nothing changed. */
async function expectRefused(send: () => Promise<Answer>, status: number, code: string, errorPath?: string) {
  const before = await snapshot(app.db.sql);
  const answer = await send();
  const problem = expectProblem(answer, status, code);
  if (errorPath) expect((problem.errors as { path: string }[]).map((e) => e.path)).toContain(errorPath);
  expect(await snapshot(app.db.sql)).toEqual(before);
  return problem;
}

/** Writes `text` on a new connection and returns everything the server sent until it closed. */
function rawHttp(baseUrl: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(baseUrl).port), '127.0.0.1', () => socket.write(text));
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('utf8')));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to ${JSON.stringify(text.slice(0, 60))}`)));
  });
}

/** An HTTP/1.1 answer as status, headers and parsed body. */
function parseHttp(text: string) {
  const [head, ...rest] = text.split('\r\n\r\n');
  const [statusLine, ...headerLines] = head.split('\r\n');
  const headers = new Headers(headerLines.map((line) => line.split(/:\s*/, 2) as [string, string]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(rest.join('\r\n\r\n')) as Record<string, unknown> };
}

describe('no known secret', () => {
  it('each database makes its own: a restart keeps tokens valid, another database refuses them', async () => {
    const other = await createTestDatabase();
    const elsewhere = await startServer(other.url);
    try {
      // The cursor secret (32 random bytes) and the signing key (a private JWK), each its own.
      const secrets = (sql: typeof app.db.sql) =>
        sql<{ name: string; secret: Buffer }[]>`SELECT name, secret FROM service_secrets ORDER BY name`;
      const mine = await secrets(app.db.sql);
      const theirs = await secrets(other.sql);
      expect(mine.map((s) => s.name)).toEqual(['service', 'signing-key']);
      expect(theirs.map((s) => s.name)).toEqual(['service', 'signing-key']);
      expect(mine[0].secret.length).toBe(32);
      expect(JSON.parse(mine[1].secret.toString('utf8'))).toMatchObject({ kty: 'EC', crv: 'P-256', d: expect.any(String) });
      for (const i of [0, 1]) expect(mine[i].secret.equals(theirs[i].secret)).toBe(false);

      expectProblem(sdkAnswer(await createCoOrderClient(elsewhere.baseUrl, alice.token).GET('/users/me')), 401, 'token_invalid');
      const again = await startServer(app.db.url);
      try {
        expect((await createCoOrderClient(again.baseUrl, alice.token).GET('/users/me')).response.status).toBe(200);
      } finally {
        expect(await again.stop()).toBe(0);
      }
    } finally {
      expect(await elsewhere.stop()).toBe(0);
      await other.drop();
    }
  });
});

describe('no client-made 5xx', () => {
  it.each(['"v2147483648"', '"v99999999999"', '"v0"', 'v1'])('If-Match: %s is a 400 on every action and on the address', async (tag) => {
    const { order } = await openOrder(alice, orderBody());
    for (const action of ['join', 'cancel', 'expire', 'accept', 'reject', 'ready', 'pick-up', 'deliver'] as const) {
      await expectRefused(
        () => raw('POST', `/orders/${order.id}/${action}`, { headers: { 'If-Match': tag, 'Idempotency-Key': newKey() } }),
        400,
        'validation_failed',
        'header.If-Match',
      );
    }
    await expectRefused(
      () => raw('PUT', '/users/me/address', { headers: { ...json, 'If-Match': tag }, body: JSON.stringify(ADDRESS) }),
      400,
      'validation_failed',
      'header.If-Match',
    );
  });

  it('a NUL in any string that would reach the database is a 400', async () => {
    const nul = 'a\u0000b';
    await expectRefused(
      () =>
        raw('POST', '/auth/dev/token', {
          token: null,
          headers: json,
          body: JSON.stringify({ email: `${randomUUID()}@example.com`, name: nul }),
        }),
      400,
      'validation_failed',
    );
    await expectRefused(
      () => raw('PUT', '/users/me/address', { headers: { ...json, 'If-Match': '*' }, body: JSON.stringify({ ...ADDRESS, address: nul }) }),
      400,
      'validation_failed',
    );
    await expectRefused(
      () =>
        raw('POST', '/orders', {
          headers: { ...json, 'Idempotency-Key': newKey() },
          body: JSON.stringify(orderBody(deliveryAt(JEONJU, nul))),
        }),
      400,
      'validation_failed',
    );
    await expectRefused(() => raw('GET', '/stores?category=a%00b'), 400, 'validation_failed', 'query');
    await expectRefused(() => raw('GET', `/orders?lat=${JEONJU.lat}&lon=${JEONJU.lon}&category=%00`), 400, 'validation_failed', 'query');
    // A stores cursor as a client might forge one: base64url JSON with a NUL in the name.
    const forged = Buffer.from(JSON.stringify({ name: nul, id: randomUUID() })).toString('base64url');
    await expectRefused(() => raw('GET', `/stores?cursor=${forged}`), 400, 'validation_failed', 'query.cursor');
    // The text \u0000 (an escaped backslash before u0000) is not a NUL: it is stored as typed.
    const literal = await raw('PUT', '/users/me/address', {
      headers: { ...json, 'If-Match': '*' },
      body: JSON.stringify({ ...ADDRESS, address: 'gate \\u0000' }),
    });
    expect(literal.response.status).toBe(200);
    expect((literal.body as { address: string }).address).toBe('gate \\u0000');
  });

  it('points a denormal away from 0° are answered (PostgreSQL raises float underflow where the distance is 0)', async () => {
    const bob = await signUp(app.server.baseUrl, 'Bob');
    const near = { lat: 1e-200, lon: 5e-324 };
    const saved = await bob.client.PUT('/users/me/address', {
      params: { header: { 'If-Match': '*' } },
      body: { address: 'Null Island', lat: 5e-324, lon: 1e-300 },
    });
    expect(saved.response.status).toBe(200);
    const { order } = await openOrder(alice, orderBody(deliveryAt(near)));
    const seen = await bob.client.GET('/orders/{orderId}', { params: { path: { orderId: order.id } } });
    expect(seen.response.status).toBe(200);
    expect(seen.data).toMatchObject({ view: 'public', distance_m: 0 });
    for (const at of [near, { lat: 2e-200, lon: 1e-320 }, { lat: 0, lon: 0 }]) {
      const nearby = await bob.client.GET('/orders', { params: { query: { ...at, radius_m: 50 } } });
      expect(nearby.response.status).toBe(200);
      expect(nearby.data!.items.map((o) => o.id)).toContain(order.id);
    }
  });

  it('a forged or altered cursor is a 400, a real one still pages', async () => {
    const yearZero = Buffer.from(JSON.stringify({ created_at: '0000-01-01T00:00:00Z', id: randomUUID() })).toString('base64url');
    await expectRefused(() => raw('GET', `/users/me/orders?cursor=${yearZero}`), 400, 'validation_failed', 'query.cursor');
    const first = await alice.client.GET('/stores', { params: { query: { limit: 2 } } });
    const cursor = first.data!.next_cursor!;
    expect(cursor).toEqual(expect.any(String));
    const at = Math.floor(cursor.length / 2);
    const altered = cursor.slice(0, at) + (cursor[at] === 'A' ? 'B' : 'A') + cursor.slice(at + 1);
    await expectRefused(() => raw('GET', `/stores?limit=2&cursor=${altered}`), 400, 'validation_failed', 'query.cursor');
    const second = await alice.client.GET('/stores', { params: { query: { limit: 2, cursor } } });
    expect(second.response.status).toBe(200);
    expect(second.data!.items[0].id).not.toBe(first.data!.items[0].id);
  });

  it.each([
    'application/json;',
    'application/json ; charset=utf-8',
    'application/json;charset',
    'APPLICATION/JSON',
    'application/json; charset="utf-8"',
  ])('Content-Type: %s is JSON', async (contentType) => {
    const before = (await alice.client.GET('/users/me')).data!.credit;
    const answer = await raw('POST', '/users/me/credit/top-ups', {
      headers: { 'Content-Type': contentType, 'Idempotency-Key': newKey() },
      body: JSON.stringify({ amount: 1000 }),
    });
    expect(answer.response.status, JSON.stringify(answer.body)).toBe(201);
    expect((await alice.client.GET('/users/me')).data!.credit).toBe(before + 1000);
    await expectLedgerBalanced(app.db.sql);
  });
});

describe("Node's own refusals are problem+json", () => {
  it.each([
    ['a negative Content-Length', 'POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 400, 'malformed_request'],
    [
      'both Transfer-Encoding and Content-Length',
      'POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}',
      400,
      'malformed_request',
    ],
    ['headers over 16 KB', `GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
    ['not HTTP at all', 'HELLO THERE\r\n\r\n', 400, 'malformed_request'],
  ])('%s → %i %s, and the server goes on serving', async (_name, request, status, code) => {
    const answer = parseHttp(await rawHttp(app.server.baseUrl, request));
    expect(answer.status).toBe(status);
    expect(answer.headers.get('content-type')).toBe('application/problem+json');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.body).toMatchObject({
      status,
      code,
      title: expect.any(String),
      detail: expect.any(String),
      request_id: answer.headers.get('x-request-id'),
    });
    expect((await fetch(`${app.server.baseUrl}/health`)).status).toBe(200);
  });
});

describe('a busy pool is not an outage', () => {
  it('with every connection busy a request gets 503 overloaded with Retry-After, and the held request still completes', async () => {
    const busy = await startServer(app.db.url, { DB_POOL_MAX: '1', DB_CONNECT_TIMEOUT_S: '1', LOCK_WAIT_MS: '8000' });
    const bob = await signUp(busy.baseUrl, 'Bob');
    expect((await bob.client.GET('/users/me')).response.status).toBe(200);
    const lock = postgres(app.db.url, { max: 1, onnotice: () => {} });
    try {
      let release!: () => void;
      let taken!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const lockTaken = new Promise<void>((resolve) => (taken = resolve));
      const locked = lock.begin(async (tx) => {
        await tx`SELECT 1 FROM users WHERE id = ${bob.user.id} FOR UPDATE`;
        taken();
        await held;
      });
      await lockTaken;
      // The top-up waits for the row, on the pool's only connection.
      const topUp = bob.client.POST('/users/me/credit/top-ups', {
        params: { header: { 'Idempotency-Key': newKey() } },
        body: { amount: 5000 },
      });
      await eventually(
        async () =>
          (
            await app.db
              .sql`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = ${DATABASE_APPLICATION_NAME} AND wait_event_type = 'Lock'`
          ).length > 0,
        () => 'the top-up never waited for the row',
      );
      const refused = sdkAnswer(await bob.client.GET('/users/me'));
      expectProblem(refused, 503, 'overloaded', '/users/me');
      expect(Number(refused.response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      release();
      await locked;
      expect((await topUp).response.status).toBe(201);
      expect((await bob.client.GET('/users/me')).data!.credit).toBe(55_000);
      await expectLedgerBalanced(app.db.sql);
    } finally {
      await lock.end();
      expect(await busy.stop()).toBe(0);
    }
  });
});

describe('headers', () => {
  it('private answers carry Cache-Control: no-store, and every answer nosniff', async () => {
    const { order } = await openOrder(alice, orderBody());
    for (const path of ['/users/me', '/users/me/ledger', '/users/me/orders', `/orders/${order.id}`, '/cart']) {
      const answer = await raw('GET', path);
      expect(answer.response.status, path).toBe(200);
      expect(answer.response.headers.get('cache-control'), path).toBe('no-store');
      expect(answer.response.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
    const login = await raw('POST', '/auth/dev/token', {
      token: null,
      headers: json,
      body: JSON.stringify({ email: `${randomUUID()}@example.com`, name: 'N' }),
    });
    expect(login.response.headers.get('cache-control')).toBe('no-store');
    for (const answer of [
      await raw('GET', '/health', { token: null }),
      await raw('GET', '/nowhere'),
      await raw('GET', '/users/me', { token: null }),
      await raw('GET', '/openapi.json', { token: null }),
    ]) {
      expect(answer.response.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('/docs carries a Content-Security-Policy that allows no inline script but its own', async () => {
    const response = await fetch(`${app.server.baseUrl}/docs`);
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toMatch(/default-src 'none'/);
    expect(policy).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    expect(policy).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    expect(policy).toMatch(/frame-ancestors 'none'/);
    expect(await response.text()).toContain('<script>');
  });

  it('CORS is off unless CORS_ORIGINS lists the origin', async () => {
    const preflight = (baseUrl: string, origin: string) =>
      fetch(`${baseUrl}/orders/${randomUUID()}/join`, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'authorization, if-match, idempotency-key',
        },
      });
    expect((await preflight(app.server.baseUrl, 'https://app.example.com')).headers.get('access-control-allow-origin')).toBeNull();
    const open = await startServer(app.db.url, { CORS_ORIGINS: 'https://app.example.com' });
    try {
      const allowed = await preflight(open.baseUrl, 'https://app.example.com');
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      const allowedHeaders = (allowed.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      for (const header of ['authorization', 'if-match', 'if-none-match', 'idempotency-key', 'content-type'])
        expect(allowedHeaders).toContain(header);
      const read = await fetch(`${open.baseUrl}/users/me`, {
        headers: { Origin: 'https://app.example.com', Authorization: `Bearer ${alice.token}` },
      });
      expect(read.status).toBe(200);
      const exposed = (read.headers.get('access-control-expose-headers') ?? '').toLowerCase();
      for (const header of ['etag', 'location', 'retry-after', 'idempotent-replayed', 'ratelimit', 'ratelimit-policy', 'x-request-id'])
        expect(exposed).toContain(header);
      expect((await preflight(open.baseUrl, 'https://evil.example.com')).headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      expect(await open.stop()).toBe(0);
    }
  });
});

describe('metrics are not public', () => {
  it('GET /metrics needs METRICS_TOKEN as the bearer token, and without one configured answers nobody', async () => {
    const metrics = (baseUrl: string, token?: string) => createCoOrderClient(baseUrl, token).GET('/metrics', { parseAs: 'text' });
    expectProblem(sdkAnswer(await metrics(app.server.baseUrl)), 401, 'unauthorized', '/metrics');
    expectProblem(sdkAnswer(await metrics(app.server.baseUrl, 'not-the-token')), 401, 'unauthorized', '/metrics');
    expectProblem(sdkAnswer(await metrics(app.server.baseUrl, alice.token)), 401, 'unauthorized', '/metrics');
    const allowed = await metrics(app.server.baseUrl, TEST_METRICS_TOKEN);
    expect(allowed.response.status).toBe(200);
    expect(allowed.data).toMatch(/^# TYPE http_requests_total counter$/m);
    const unset = await startServer(app.db.url, { METRICS_TOKEN: undefined });
    try {
      expectProblem(sdkAnswer(await metrics(unset.baseUrl, TEST_METRICS_TOKEN)), 401, 'unauthorized', '/metrics');
    } finally {
      expect(await unset.stop()).toBe(0);
    }
  });
});

describe('safe defaults', () => {
  it('without HOST it listens on 127.0.0.1 only', async () => {
    const local = await startServer(app.db.url, { HOST: undefined });
    try {
      const listening = local.logs.map((line) => JSON.parse(line) as { msg?: string }).find((e) => e.msg?.startsWith('listening'));
      expect(listening?.msg).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+/);
      expect(local.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:/);
      expect((await fetch(`${local.baseUrl}/health`)).status).toBe(200);
    } finally {
      expect(await local.stop()).toBe(0);
    }
  });

  it('production refuses to start with the development login switched on', async () => {
    await expect(
      startServer(app.db.url, {
        NODE_ENV: 'production',
        AUTH_SIGNING_KEYS: PRODUCTION_KEYS,
        ...UNREACHABLE_PAYMENTS_ENV,
        AUTH_DEV_LOGIN: 'true',
      }),
    ).rejects.toThrow(/exited with 1[\s\S]*AUTH_DEV_LOGIN: the passwordless development login cannot be on in production/);
  });

  it('production seeds no demo data unless asked', async () => {
    const production = {
      NODE_ENV: 'production',
      AUTH_SIGNING_KEYS: PRODUCTION_KEYS,
      ...UNREACHABLE_PAYMENTS_ENV,
      SEED_DEMO_DATA: undefined,
    };
    for (const [env, stores] of [
      [production, 0],
      [{ ...production, SEED_DEMO_DATA: 'true' }, 12],
    ] as const) {
      const bare = await createEmptyDatabase();
      try {
        const started = await startServer(bare.url, env);
        expect(await started.stop()).toBe(0);
        const sql = postgres(bare.url, { max: 1, onnotice: () => {} });
        const [{ count }] = await sql<{ count: number }[]>`SELECT count(*)::int AS count FROM stores`;
        await sql.end();
        if (stores === 0) expect(count).toBe(0);
        else expect(count).toBeGreaterThanOrEqual(stores);
      } finally {
        await bare.drop();
      }
    }
  });
});

describe('strict parsing', () => {
  it.each([
    ['lat=', `lat=&lon=${JEONJU.lon}`, 'query.lat'],
    ['lon=abc', `lat=${JEONJU.lat}&lon=abc`, 'query.lon'],
    ['lat=0x10', `lat=0x10&lon=${JEONJU.lon}`, 'query.lat'],
    ['lat=+35', `lat=%2B35&lon=${JEONJU.lon}`, 'query.lat'],
    ['lat=35.', `lat=35.&lon=${JEONJU.lon}`, 'query.lat'],
    ['radius_m=+300', `lat=${JEONJU.lat}&lon=${JEONJU.lon}&radius_m=+300`, 'query.radius_m'],
    ['limit=0x10', `lat=${JEONJU.lat}&lon=${JEONJU.lon}&limit=0x10`, 'query.limit'],
    ['limit=+1', `lat=${JEONJU.lat}&lon=${JEONJU.lon}&limit=+1`, 'query.limit'],
    ['limit= 1', `lat=${JEONJU.lat}&lon=${JEONJU.lon}&limit=%201`, 'query.limit'],
    ['limit=', `lat=${JEONJU.lat}&lon=${JEONJU.lon}&limit=`, 'query.limit'],
  ])('nearby with %s is a 400 naming the parameter', async (_name, query, errorPath) => {
    await expectRefused(() => raw('GET', `/orders?${query}`), 400, 'validation_failed', errorPath);
  });

  it('a body sent to an action that takes none is a 400 and does nothing; without it the action runs', async () => {
    const { order, etag } = await openOrder(alice, orderBody());
    for (const body of ['{', '{}', 'null']) {
      await expectRefused(
        () => raw('POST', `/orders/${order.id}/cancel`, { headers: { ...json, 'If-Match': etag, 'Idempotency-Key': newKey() }, body }),
        400,
        'body_not_allowed',
      );
    }
    const cancelled = await alice.client.POST('/orders/{orderId}/cancel', {
      params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
    });
    expect(cancelled.response.status).toBe(200);
    const refunds = await app.db.sql`SELECT 1 FROM credit_ledger WHERE order_id = ${order.id} AND kind = 'order_refund'`;
    expect(refunds).toHaveLength(1);
    await expectLedgerBalanced(app.db.sql);
  });

  it('an If-Match or If-None-Match over 512 characters is a 400', async () => {
    const long = Array.from({ length: 120 }, (_, i) => `"v${i + 1}"`).join(', ');
    expect(long.length).toBeGreaterThan(512);
    await expectRefused(
      () => raw('PUT', '/users/me/address', { headers: { ...json, 'If-Match': long }, body: JSON.stringify(ADDRESS) }),
      400,
      'validation_failed',
      'header.If-Match',
    );
    const { order } = await openOrder(alice, orderBody());
    await expectRefused(
      () => raw('GET', `/orders/${order.id}`, { headers: { 'If-None-Match': long } }),
      400,
      'validation_failed',
      'header.If-None-Match',
    );
  });

  it.each(['bearer', 'BEARER', 'Bearer'])('the scheme %s is accepted (it is case-insensitive)', async (scheme) => {
    const answer = await answerOf(
      await fetch(`${app.server.baseUrl}/users/me`, { headers: { Authorization: `${scheme} ${alice.token}` } }),
    );
    expect(answer.response.status).toBe(200);
  });

  it.each([
    ['a line break', '백제대로 567\r\n게이트 1234'],
    ['a tab', '백제대로\t567'],
    ['a right-to-left override', '백제대로 \u202E765'],
    ['a bidi isolate', '백제대로 \u2066567\u2069'],
    ['a zero-width space', '백제대로\u200B567'],
    ['a byte-order mark', '\uFEFF백제대로 567'],
    ['a C1 control', '백제대로\u0085567'],
  ])('an address with %s is a 400, saved and delivery alike', async (_name, address) => {
    await expectRefused(
      () =>
        alice.client.PUT('/users/me/address', { params: { header: { 'If-Match': '*' } }, body: { ...ADDRESS, address } }).then(sdkAnswer),
      400,
      'validation_failed',
      'body.address',
    );
    await expectRefused(
      () =>
        alice.client
          .POST('/orders', { params: { header: { 'Idempotency-Key': newKey() } }, body: orderBody(deliveryAt(JEONJU, address)) })
          .then(sdkAnswer),
      400,
      'validation_failed',
      'body.delivery.address',
    );
  });

  it('spaces in names and addresses are normalised: runs of any space collapse, ends are trimmed', async () => {
    const saved = await alice.client.PUT('/users/me/address', {
      params: { header: { 'If-Match': '*' } },
      body: { ...ADDRESS, address: '  전북 전주시\u3000\u3000덕진구\u00A0 백제대로 567  ' },
    });
    expect(saved.data!.address).toBe('전북 전주시 덕진구 백제대로 567');
    const login = await createCoOrderClient(app.server.baseUrl).POST('/auth/dev/token', {
      body: { email: `${randomUUID()}@example.com`, name: '  김   민지 ' },
    });
    expect(login.data!.user.name).toBe('김 민지');
  });
});
