/**
 * Rate limits: each route class has its budget per principal, every limited answer states it in
 * the IETF RateLimit fields, a request past it is 429 `rate_limited` with Retry-After no earlier
 * than the reset (and changes nothing, and is never stored under its Idempotency-Key), the budget
 * comes back after the window, and two instances on one database share one budget.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoOrderClient } from '../../openapi/client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { requestsByStatus } from '../support/metrics.js';
import { expectProblem, snapshot, answerOf } from '../support/problems.js';
import { DEFAULT_RATE_LIMITS, RAISED_RATE_LIMITS } from '../support/rate-limits.js';
import { startServer, TEST_METRICS_TOKEN, type RunningServer } from '../support/server.js';
import { useServer } from '../support/use-server.js';
import { expectLedgerBalanced, newKey, signUp } from '../support/world.js';

// Small budgets and short windows, so that a test can spend one and wait for the next (10 s: long
// enough that a loaded machine still sends a test's few requests within one window).
// Sign-in is limited per client IP, and every test here signs its users in from one address: the
// servers most tests use leave it raised, and the sign-in test has a server of its own.
const LIMITS = {
  ...DEFAULT_RATE_LIMITS,
  RATE_LIMIT_AUTH: RAISED_RATE_LIMITS.RATE_LIMIT_AUTH,
  RATE_LIMIT_MONEY: '4/10',
  RATE_LIMIT_ACTIONS: '6/10',
  RATE_LIMIT_READS: '400/30',
};
const SIGN_IN_LIMITS = { ...DEFAULT_RATE_LIMITS, RATE_LIMIT_AUTH: '5/10' };
const app = useServer(LIMITS);
let other: RunningServer;
beforeAll(async () => {
  other = await startServer(app.db.url, LIMITS);
});
afterAll(async () => {
  await other?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const topUp = (baseUrl: string, token: string, key = newKey()) =>
  fetch(`${baseUrl}/users/me/credit/top-ups`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Idempotency-Key': key },
    body: JSON.stringify({ amount: 1000 }),
  });
const devLogin = (baseUrl: string, headers: Record<string, string> = {}) =>
  fetch(`${baseUrl}/auth/dev/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ email: `limited-${randomUUID()}@example.com`, name: 'Limited' }),
  });
const remaining = (response: Response) => Number(/;r=(\d+)/.exec(response.headers.get('ratelimit') ?? '')?.[1]);
const resetIn = (response: Response) => Number(/;t=(\d+)/.exec(response.headers.get('ratelimit') ?? '')?.[1]);

/** Waits until a fresh window has begun for budgets of `windowSeconds` taken just now. */
const nextWindow = (response: Response) => sleep(resetIn(response) * 1000 + 300);

describe('the money class (per user)', () => {
  it('states its policy and what is left on every answer, exact, then refuses with 429, Retry-After at the reset, and nothing changes', async () => {
    const user = await signUp(app.server.baseUrl, 'Spender');
    const answers: Response[] = [];
    for (let n = 0; n < 4; n++) answers.push(await topUp(app.server.baseUrl, user.token));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201]);
    for (const [n, answer] of answers.entries()) {
      expect(answer.headers.get('ratelimit-policy')).toBe('"money";q=4;w=10');
      expect(answer.headers.get('ratelimit')).toMatch(new RegExp(`^"money";r=${3 - n};t=([1-9]|10)$`));
    }
    const before = await snapshot(app.db.sql);
    const key = newKey();
    const refused = await topUp(app.server.baseUrl, user.token, key);
    const problem = expectProblem(await answerOf(refused), 429, 'rate_limited', '/users/me/credit/top-ups');
    expect(problem.detail).toMatch(/at most 4 in 10 s/);
    expect(refused.headers.get('ratelimit-policy')).toBe('"money";q=4;w=10');
    expect(remaining(refused)).toBe(0);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(resetIn(refused));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(await snapshot(app.db.sql)).toEqual(before);

    // After the window: the budget is back, and the refused key was never stored — it runs afresh.
    await sleep(retryAfter * 1000 + 300);
    const again = await topUp(app.server.baseUrl, user.token, key);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(remaining(again)).toBe(3);
    await expectLedgerBalanced(app.db.sql);
  });

  it('a replay of a stored answer counts against the budget like any request (and is 429 past it)', async () => {
    const user = await signUp(app.server.baseUrl, 'Replayer');
    const key = newKey();
    expect((await topUp(app.server.baseUrl, user.token, key)).status).toBe(201);
    const replays: Response[] = [];
    for (let n = 0; n < 4; n++) replays.push(await topUp(app.server.baseUrl, user.token, key));
    expect(replays.map((r) => r.status)).toEqual([201, 201, 201, 429]);
    expect(replays[0].headers.get('idempotent-replayed')).toBe('true');
    await nextWindow(replays[3]);
    const later = await topUp(app.server.baseUrl, user.token, key);
    expect(later.status).toBe(201);
    expect(later.headers.get('idempotent-replayed')).toBe('true');
    await expectLedgerBalanced(app.db.sql);
  });

  it('is per user: one user past the budget does not limit another', async () => {
    const [a, b] = [await signUp(app.server.baseUrl, 'A'), await signUp(app.server.baseUrl, 'B')];
    for (let n = 0; n < 5; n++) await topUp(app.server.baseUrl, a.token);
    expect((await topUp(app.server.baseUrl, a.token)).status).toBe(429);
    expect((await topUp(app.server.baseUrl, b.token)).status).toBe(201);
  });

  it('is one budget across two instances', async () => {
    const user = await signUp(app.server.baseUrl, 'Everywhere');
    const statuses: number[] = [];
    for (let n = 0; n < 8; n++) statuses.push((await topUp(n % 2 ? other.baseUrl : app.server.baseUrl, user.token)).status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(4);
    expect(statuses.filter((s) => s === 429)).toHaveLength(4);
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('the reads class (per user, leased to each instance)', () => {
  it('gives a user the budget once across two instances, within 10 %', async () => {
    const user = await signUp(app.server.baseUrl, 'Reader');
    const read = (baseUrl: string) => fetch(`${baseUrl}/users/me`, { headers: { Authorization: `Bearer ${user.token}` } });
    // The user's first read opens their window (30 s: the 600 reads all fall within it).
    let ok = 0;
    for (let n = 0; n < 600; n++) {
      const answer = await read(n % 2 ? other.baseUrl : app.server.baseUrl);
      if (n === 0) expect(answer.headers.get('ratelimit-policy')).toBe('"reads";q=400;w=30');
      if (answer.status === 200) ok++;
    }
    expect(ok).toBeLessThanOrEqual(400);
    expect(ok).toBeGreaterThanOrEqual(360);
  });

  it('serves a burst of one user from one lease at a time, not a lease per request', async () => {
    // 100 reads at once, well within the budget of 400 (leased in parts of 10): each leasing a
    // part of its own would take the whole budget from the shared counter after 40 of them.
    const user = await signUp(app.server.baseUrl, 'Burst');
    const burst = await Promise.all(
      Array.from({ length: 100 }, () => fetch(`${app.server.baseUrl}/users/me`, { headers: { Authorization: `Bearer ${user.token}` } })),
    );
    expect(burst.map((r) => r.status).filter((status) => status !== 200)).toEqual([]);
    const [{ points }] = await app.db.sql<{ points: number }[]>`SELECT points FROM rate_limits WHERE key = ${`reads:user:${user.user.id}`}`;
    expect(points).toBeLessThanOrEqual(110);
  });
});

describe('the sign-in class (per client IP)', () => {
  // A database of its own too: budgets are kept per class and principal in the database, and the
  // other servers' sign-ins from this address count in theirs.
  let signIn: RunningServer;
  let own: TestDatabase;
  beforeAll(async () => {
    own = await createTestDatabase();
    signIn = await startServer(own.url, SIGN_IN_LIMITS);
  });
  afterAll(async () => {
    await signIn?.stop();
    await own?.drop();
  });

  it('limits the development login per IP, with its own policy', async () => {
    const answers: Response[] = [];
    for (let n = 0; n < 6; n++) answers.push(await devLogin(signIn.baseUrl));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(answers[0].headers.get('ratelimit-policy')).toBe('"auth";q=5;w=10');
    expectProblem(await answerOf(answers[5]), 429, 'rate_limited', '/auth/dev/token');
    // X-Forwarded-For from a client is not believed without TRUST_PROXY: still the same IP.
    expect((await devLogin(signIn.baseUrl, { 'X-Forwarded-For': '203.0.113.7' })).status).toBe(429);
    await nextWindow(answers[5]);
    expect((await devLogin(signIn.baseUrl)).status).toBe(200);
  });
});

describe('the operational probes and the key set', () => {
  it('are not limited', async () => {
    for (const path of ['/health', '/ready', '/.well-known/jwks.json']) {
      const response = await fetch(app.server.baseUrl + path);
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-policy')).toBeNull();
    }
  });
});

describe('metrics', () => {
  it('count 429s by class and time the limiter', async () => {
    const user = await signUp(app.server.baseUrl, 'Counted');
    for (let n = 0; n < 6; n++) await topUp(other.baseUrl, user.token);
    const text = await (await fetch(`${other.baseUrl}/metrics`, { headers: { Authorization: `Bearer ${TEST_METRICS_TOKEN}` } })).text();
    expect(Number(/http_rate_limited_total\{class="money"\} (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/rate_limiter_duration_seconds_count\{class="money"\} \d+/);
    expect(requestsByStatus(text, 'POST', '/users/me/credit/top-ups')[429]).toBeGreaterThanOrEqual(2);
  });
});

describe('when the shared store is down', () => {
  it('reads keep being served (each instance limits alone), money is refused with 503 and Retry-After', async () => {
    const user = await signUp(app.server.baseUrl, 'Outage');
    const client = createCoOrderClient(app.server.baseUrl, user.token);
    await app.db.sql`ALTER TABLE rate_limits RENAME TO rate_limits_away`;
    try {
      const reads = await Promise.all(Array.from({ length: 5 }, () => client.GET('/users/me')));
      expect(reads.map((r) => r.response.status)).toEqual([200, 200, 200, 200, 200]);
      const before = await snapshot(app.db.sql);
      const money = await topUp(app.server.baseUrl, user.token);
      expectProblem(await answerOf(money), 503, 'rate_limit_unavailable', '/users/me/credit/top-ups');
      expect(money.headers.get('retry-after')).toBe('1');
      expect(await snapshot(app.db.sql)).toEqual(before);
    } finally {
      await app.db.sql`ALTER TABLE rate_limits_away RENAME TO rate_limits`;
    }
    expect((await topUp(app.server.baseUrl, user.token)).status).toBe(201);
    await expectLedgerBalanced(app.db.sql);
  });
});
