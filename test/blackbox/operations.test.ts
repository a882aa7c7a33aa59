import { UNREACHABLE_PAYMENTS_ENV } from '../support/payment-provider.js';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createCoOrderClient } from '../../openapi/client.js';
import { createTestDatabase } from '../support/database.js';
import { requestsByStatus } from '../support/metrics.js';
import { answerOf, expectProblem, sdkAnswer, snapshot } from '../support/problems.js';
import { TEST_METRICS_TOKEN, startServer, type RunningServer } from '../support/server.js';
import { useServer } from '../support/use-server.js';
import { expectLedgerBalanced, signUp } from '../support/world.js';
import { signingKey, signingKeysEnv } from '../support/tokens.js';

const PRODUCTION_KEYS = signingKeysEnv(await signingKey());

const app = useServer();

// Every sign-up writes a grant to the ledger: the money invariant holds after each test.
afterEach(async () => {
  await expectLedgerBalanced(app.db.sql);
});

const anonymous = () => createCoOrderClient(app.server.baseUrl);

/** Waits until the server has printed a log line matching `test` (log lines arrive asynchronously). */
async function logLine(target: RunningServer, test: (entry: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  for (let attempt = 0; attempt < 400; attempt++) {
    for (const line of target.logs) {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (test(entry)) return entry;
      } catch {
        // not JSON
      }
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no such log line');
}

describe('health and readiness', () => {
  it('GET /health is 200 without a token', async () => {
    const result = await anonymous().GET('/health');
    expect(result.response.status).toBe(200);
    expect(result.data).toEqual({ status: 'ok' });
  });

  it('GET /ready is 200 while the database answers', async () => {
    const result = await anonymous().GET('/ready');
    expect(result.response.status).toBe(200);
    expect(result.data).toEqual({ status: 'ok' });
  });

  it('GET /ready is 503 with Retry-After once the database is gone, while /health stays 200', async () => {
    const doomed = await createTestDatabase();
    const victim = await startServer(doomed.url);
    try {
      const client = createCoOrderClient(victim.baseUrl);
      const user = await signUp(victim.baseUrl);
      expect((await client.GET('/ready')).response.status).toBe(200);

      // DROP DATABASE … WITH (FORCE): every connection of the server is terminated, and no new one can be made.
      await doomed.drop();

      for (let i = 0; i < 3; i++) {
        const ready = await client.GET('/ready');
        expectProblem(sdkAnswer(ready), 503, 'database_unavailable', '/ready');
        expect(ready.response.headers.get('retry-after')).toMatch(/^\d+$/);
      }
      // Requests that need the database say the same, not 500.
      for (let i = 0; i < 3; i++) {
        const me = await user.client.GET('/users/me');
        expectProblem(sdkAnswer(me), 503, 'database_unavailable', '/users/me');
        expect(me.response.headers.get('retry-after')).toMatch(/^\d+$/);
      }
      expect((await client.GET('/health')).response.status).toBe(200);
    } finally {
      expect(await victim.stop()).toBe(0);
    }
  });
});

describe('request ids', () => {
  it('honours and echoes an incoming X-Request-Id, and puts it in the problem body and the access log', async () => {
    const requestId = `trace-${randomUUID()}`;
    const ok = await anonymous().GET('/health', { headers: { 'X-Request-Id': requestId } });
    expect(ok.response.headers.get('x-request-id')).toBe(requestId);

    const problemId = `trace-${randomUUID()}`;
    const missing = await createCoOrderClient(app.server.baseUrl).GET('/users/me', { headers: { 'X-Request-Id': problemId } });
    const problem = expectProblem(sdkAnswer(missing), 401, 'unauthorized', '/users/me');
    expect(problem.request_id).toBe(problemId);
    expect(missing.response.headers.get('x-request-id')).toBe(problemId);

    const access = await logLine(app.server, (e) => e.request_id === problemId && e.msg === 'request');
    expect(access, JSON.stringify(access)).toMatchObject({
      method: 'GET',
      route: '/users/me',
      path: '/users/me',
      status: 401,
      duration_ms: expect.any(Number),
    });
  });

  it('makes a fresh id when none is given, or when the given one is not sane', async () => {
    const ids = new Set<string>();
    for (const header of [undefined, undefined, 'has spaces in it', 'x'.repeat(129), '']) {
      const result = await anonymous().GET('/health', { headers: header === undefined ? {} : { 'X-Request-Id': header } });
      const id = result.response.headers.get('x-request-id');
      expect(id).toMatch(/^[\x21-\x7e]{1,128}$/);
      expect(id).not.toBe(header);
      ids.add(id!);
    }
    expect(ids.size).toBe(5);
  });
});

describe('unknown routes', () => {
  it.each([
    ['GET', '/nope'],
    ['POST', '/nope'],
    ['GET', '/users'],
    ['DELETE', '/health'],
    ['PATCH', '/orders/6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f'],
  ])('%s %s is a 404 problem', async (method, path) => {
    const { token } = await signUp(app.server.baseUrl);
    const before = await snapshot(app.db.sql);
    const answer = await answerOf(await fetch(app.server.baseUrl + path, { method, headers: { Authorization: `Bearer ${token}` } }));
    const problem = expectProblem(answer, 404, 'route_not_found', path);
    expect(problem.detail).toContain(path);
    expect(await snapshot(app.db.sql)).toEqual(before);
  });
});

describe('metrics', () => {
  const counter = (text: string, route: string, status: number) => requestsByStatus(text, 'GET', route)[status] ?? 0;
  const metrics = async () => {
    const result = await createCoOrderClient(app.server.baseUrl, TEST_METRICS_TOKEN).GET('/metrics', { parseAs: 'text' });
    expect(result.response.status).toBe(200);
    expect(result.response.headers.get('content-type')).toMatch(/^text\/plain/);
    return result.data as string;
  };

  it('counts requests by route pattern and status in Prometheus text', async () => {
    const before = counter(await metrics(), '/health', 200);
    for (let i = 0; i < 3; i++) await anonymous().GET('/health');
    const text = await metrics();
    expect(counter(text, '/health', 200)).toBe(before + 3);
    expect(text).toMatch(/^# TYPE http_requests_total counter$/m);
    expect(text).toMatch(/^# TYPE http_request_duration_seconds histogram$/m);
    expect(text).toMatch(/^http_request_duration_seconds_bucket\{.*route="\/health".*\} \d+$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
  });

  it('labels by route pattern, never by raw path (bounded cardinality)', async () => {
    const { client } = await signUp(app.server.baseUrl);
    const storeId = randomUUID();
    await client.GET('/stores/{storeId}', { params: { path: { storeId } } });
    const junk = `/junk-${randomUUID()}`;
    await fetch(app.server.baseUrl + junk);
    const text = await metrics();
    expect(counter(text, '/stores/:storeId', 404)).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(storeId);
    expect(text).not.toContain(junk);
  });
});

describe('API documents', () => {
  it('GET /openapi.json is OpenAPI 3.1 with every foundation endpoint', async () => {
    const answer = await answerOf(await fetch(`${app.server.baseUrl}/openapi.json`));
    expect(answer.response.status).toBe(200);
    const doc = answer.body as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    };
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const expected: [string, string][] = [
      ['/auth/dev/token', 'post'],
      ['/users/me', 'get'],
      ['/users/me/address', 'put'],
      ['/users/me/credit/top-ups', 'post'],
      ['/users/me/ledger', 'get'],
      ['/stores', 'get'],
      ['/stores/{storeId}', 'get'],
      ['/stores/{storeId}/menus', 'get'],
      ['/categories', 'get'],
      ['/cart', 'get'],
      ['/cart', 'delete'],
      ['/cart/items/{menuId}', 'put'],
      ['/cart/items/{menuId}', 'delete'],
      ['/health', 'get'],
      ['/ready', 'get'],
      ['/metrics', 'get'],
    ];
    for (const [path, method] of expected) {
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
      expect(Object.keys(doc.paths[path][method].responses).length).toBeGreaterThan(0);
    }
    expect(doc.paths['/users/me'].get.responses).toHaveProperty('401');
    expect(doc.paths['/users/me/address'].put.responses).toMatchObject({ '200': {}, '412': {}, '428': {} });
    expect(doc.paths['/cart/items/{menuId}'].put.responses).toHaveProperty('409');
    expect(doc.paths['/ready'].get.responses).toHaveProperty('503');
    expect(doc.components.schemas).toHaveProperty('Problem');
    expect(doc.components.securitySchemes).toHaveProperty('bearerAuth');
  });

  it('GET /docs serves Swagger UI', async () => {
    const response = await fetch(`${app.server.baseUrl}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect((await response.text()).toLowerCase()).toContain('swagger');
  });

  it('logs the URLs of /docs and /openapi.json when it starts', async () => {
    const listening = await logLine(app.server, (e) => typeof e.msg === 'string' && e.msg.startsWith('listening'));
    expect(listening).toMatchObject({ docs: `${app.server.baseUrl}/docs`, openapi: `${app.server.baseUrl}/openapi.json` });
  });
});

describe('dev login switched off', () => {
  it.each([
    ['AUTH_DEV_LOGIN=false', { AUTH_DEV_LOGIN: 'false' }],
    ['NODE_ENV=production', { NODE_ENV: 'production', AUTH_SIGNING_KEYS: PRODUCTION_KEYS, ...UNREACHABLE_PAYMENTS_ENV }],
  ])('with %s POST /auth/dev/token is a 404 problem and creates no user', async (_name, env) => {
    const locked = await startServer(app.db.url, env);
    try {
      const before = await snapshot(app.db.sql);
      const result = await createCoOrderClient(locked.baseUrl).POST('/auth/dev/token', {
        body: { email: `nobody-${randomUUID()}@example.com`, name: 'Nobody' },
      });
      expectProblem(sdkAnswer(result), 404, 'dev_login_disabled', '/auth/dev/token');
      expect(await snapshot(app.db.sql)).toEqual(before);
      // The rest of the service is up.
      expect((await createCoOrderClient(locked.baseUrl).GET('/ready')).response.status).toBe(200);
    } finally {
      expect(await locked.stop()).toBe(0);
    }
  });
});
