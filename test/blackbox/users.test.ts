import { describe, expect, it } from 'vitest';
import { expectProblem, sdkAnswer } from '../support/problems.js';
import { useServer } from '../support/use-server.js';
import { JEONJU, expectLedgerBalanced, newKey, signUp, type TestUser } from '../support/world.js';

const app = useServer();

const HOME = { address: '전북 전주시 덕진구 백제대로 567', lat: JEONJU.lat, lon: JEONJU.lon };
const OFFICE = { address: '전북 전주시 덕진구 명륜4길 12', lat: 35.8471, lon: 127.1302 };

async function me(user: TestUser) {
  const result = await user.client.GET('/users/me');
  expect(result.response.status).toBe(200);
  return { user: result.data!, etag: result.response.headers.get('etag')! };
}

function topUp(user: TestUser, amount: number, key = newKey()) {
  return user.client.POST('/users/me/credit/top-ups', { params: { header: { 'Idempotency-Key': key } }, body: { amount } });
}

describe('GET /users/me', () => {
  it('returns the profile with a strong ETag of its version', async () => {
    const user = await signUp(app.server.baseUrl, 'Profile');
    const { user: profile, etag } = await me(user);
    expect(profile).toEqual({ ...user.user, address: null, lat: null, lon: null });
    expect(Object.keys(profile).sort()).toEqual(['address', 'credit', 'email', 'id', 'lat', 'lon', 'name']);
    const [row] = await app.db.sql`SELECT version FROM users WHERE id = ${user.user.id}`;
    expect(etag).toBe(`"v${row.version}"`);
  });

  it('answers 200 with the body again when If-None-Match is stale', async () => {
    const user = await signUp(app.server.baseUrl);
    const again = await user.client.GET('/users/me', { headers: { 'If-None-Match': '"v999"' } });
    expect(again.response.status).toBe(200);
    expect(again.data!.id).toBe(user.user.id);
  });
});

describe('PUT /users/me/address', () => {
  it('with the current ETag saves the address and returns the new ETag', async () => {
    const user = await signUp(app.server.baseUrl, 'Address');
    const { etag } = await me(user);
    const put = await user.client.PUT('/users/me/address', { params: { header: { 'If-Match': etag } }, body: HOME });
    expect(put.response.status).toBe(200);
    expect(put.data).toMatchObject({ id: user.user.id, ...HOME, credit: 50_000 });
    const newEtag = put.response.headers.get('etag')!;
    expect(newEtag).toMatch(/^"v\d+"$/);
    expect(newEtag).not.toBe(etag);
    // What GET says afterwards is what PUT answered, ETag included.
    const after = await me(user);
    expect(after.user).toEqual(put.data);
    expect(after.etag).toBe(newEtag);
    const [row] = await app.db.sql`SELECT address, lat, lon FROM users WHERE id = ${user.user.id}`;
    expect(row).toEqual(HOME);
  });

  it('trims the address', async () => {
    const user = await signUp(app.server.baseUrl);
    const put = await user.client.PUT('/users/me/address', {
      params: { header: { 'If-Match': '*' } },
      body: { ...HOME, address: `  ${HOME.address}  ` },
    });
    expect(put.data!.address).toBe(HOME.address);
  });

  it('with a stale ETag answers 412 with the current user and its ETag, and changes nothing', async () => {
    const user = await signUp(app.server.baseUrl, 'Stale');
    const { etag: stale } = await me(user);
    const first = await user.client.PUT('/users/me/address', { params: { header: { 'If-Match': stale } }, body: HOME });
    const current = first.response.headers.get('etag')!;
    const second = await user.client.PUT('/users/me/address', { params: { header: { 'If-Match': stale } }, body: OFFICE });
    const problem = expectProblem(sdkAnswer(second), 412, 'precondition_failed', '/users/me/address');
    expect(second.response.headers.get('etag')).toBe(current);
    expect(problem.current).toEqual(first.data);
    // A client that decides again with the ETag it was given succeeds.
    const retry = await user.client.PUT('/users/me/address', { params: { header: { 'If-Match': current } }, body: OFFICE });
    expect(retry.response.status).toBe(200);
    expect(retry.data).toMatchObject(OFFICE);
  });

  it('without If-Match answers 428 and changes nothing', async () => {
    const user = await signUp(app.server.baseUrl);
    const put = await user.client.PUT('/users/me/address', { params: { header: {} as { 'If-Match': string } }, body: HOME });
    expectProblem(sdkAnswer(put), 428, 'precondition_required', '/users/me/address');
    expect((await me(user)).user.address).toBeNull();
  });

  it('matches any version with If-Match: *', async () => {
    const user = await signUp(app.server.baseUrl);
    const first = await user.client.PUT('/users/me/address', { params: { header: { 'If-Match': '*' } }, body: HOME });
    const second = await user.client.PUT('/users/me/address', { params: { header: { 'If-Match': '*' } }, body: OFFICE });
    expect([first.response.status, second.response.status]).toEqual([200, 200]);
    expect(second.data).toMatchObject(OFFICE);
    expect(second.response.headers.get('etag')).not.toBe(first.response.headers.get('etag'));
  });

  it('matches when the current ETag is one of a list, and never on a weak tag', async () => {
    const user = await signUp(app.server.baseUrl);
    const { etag } = await me(user);
    const weak = await user.client.PUT('/users/me/address', { params: { header: { 'If-Match': `W/${etag}` } }, body: HOME });
    expectProblem(sdkAnswer(weak), 412, 'precondition_failed');
    const listed = await user.client.PUT('/users/me/address', { params: { header: { 'If-Match': `"v999", ${etag}` } }, body: HOME });
    expect(listed.response.status).toBe(200);
  });

  it('a top-up moves the ETag on (the balance is part of the user)', async () => {
    const user = await signUp(app.server.baseUrl);
    const { etag } = await me(user);
    expect((await topUp(user, 1_000)).response.status).toBe(201);
    const put = await user.client.PUT('/users/me/address', { params: { header: { 'If-Match': etag } }, body: HOME });
    const problem = expectProblem(sdkAnswer(put), 412, 'precondition_failed');
    expect(problem.current).toMatchObject({ credit: 51_000 });
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('POST /users/me/credit/top-ups', () => {
  it('without a payment provider credits at once, says so, and answers 201 with the new balance', async () => {
    const user = await signUp(app.server.baseUrl, 'TopUp');
    const result = await topUp(user, 20_000);
    expect(result.response.status).toBe(201);
    expect(result.response.headers.get('Location')).toBe(`/users/me/credit/top-ups/${result.data!.id}`);
    expect(result.data).toEqual({
      id: expect.any(String),
      status: 'succeeded',
      amount: 20_000,
      demo: true,
      payment_key: null,
      failure: null,
      created_at: expect.any(String),
      updated_at: expect.any(String),
      settled_at: expect.any(String),
      credit: 70_000,
      entry: {
        id: expect.any(Number),
        kind: 'top_up',
        amount: 20_000,
        balance_after: 70_000,
        order_id: null,
        created_at: expect.any(String),
      },
    });
    expect(new Date(result.data!.entry.created_at).toISOString()).toBe(result.data!.entry.created_at);
    expect((await me(user)).user.credit).toBe(70_000);
    const rows = await app.db.sql`SELECT kind, amount, balance_after FROM credit_ledger WHERE user_id = ${user.user.id} ORDER BY id`;
    expect(rows).toEqual([
      { kind: 'signup_grant', amount: 50_000, balance_after: 50_000 },
      { kind: 'top_up', amount: 20_000, balance_after: 70_000 },
    ]);
    await expectLedgerBalanced(app.db.sql);
  });

  it('accepts the smallest and the largest amount', async () => {
    const user = await signUp(app.server.baseUrl);
    expect((await topUp(user, 1)).data!.credit).toBe(50_001);
    expect((await topUp(user, 1_000_000)).data!.credit).toBe(1_050_001);
    await expectLedgerBalanced(app.db.sql);
  });

  it.each([
    ['zero', 0],
    ['negative', -500],
    ['fractional', 1000.5],
    ['over the cap', 1_000_001],
    ['huge', 1e20],
  ])('refuses a %s amount with 400 and moves nothing', async (_name, amount) => {
    const user = await signUp(app.server.baseUrl);
    const result = await topUp(user, amount);
    const problem = expectProblem(sdkAnswer(result), 400, 'validation_failed', '/users/me/credit/top-ups');
    expect(new Set((problem.errors as { path: string }[]).map((e) => e.path))).toEqual(new Set(['body.amount']));
    expect((await me(user)).user.credit).toBe(50_000);
    const [{ rows }] = await app.db.sql`SELECT count(*)::int AS rows FROM credit_ledger WHERE user_id = ${user.user.id}`;
    expect(rows).toBe(1);
    await expectLedgerBalanced(app.db.sql);
  });

  it('keeps every balance equal to its ledger through many top-ups from many users at once', async () => {
    const users = await Promise.all([1, 2, 3].map((i) => signUp(app.server.baseUrl, `Many${i}`)));
    const amounts = [1, 999, 12_345, 50_000, 7];
    await Promise.all(users.flatMap((u) => amounts.map((a) => topUp(u, a))));
    for (const u of users) expect((await me(u)).user.credit).toBe(50_000 + amounts.reduce((s, a) => s + a, 0));
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('GET /users/me/ledger', () => {
  it('lists the movements newest first, page by page, and they sum to the balance', async () => {
    const user = await signUp(app.server.baseUrl, 'Ledger');
    const amounts = [1_000, 2_000, 3_000, 4_000, 5_000];
    for (const amount of amounts) expect((await topUp(user, amount)).response.status).toBe(201);

    const seen: { amount: number; balance_after: number; id: number }[] = [];
    const pageSizes: number[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await user.client.GET('/users/me/ledger', { params: { query: { limit: 2, cursor } } });
      expect(page.response.status).toBe(200);
      pageSizes.push(page.data!.items.length);
      seen.push(...page.data!.items);
      if (page.data!.next_cursor === null) break;
      cursor = page.data!.next_cursor;
    }
    expect(pageSizes).toEqual([2, 2, 2]);
    expect(seen.map((e) => e.amount)).toEqual([5_000, 4_000, 3_000, 2_000, 1_000, 50_000]);
    // Newest first: ids strictly decrease, balances walk back down to the grant.
    expect(seen.map((e) => e.id)).toEqual([...seen.map((e) => e.id)].sort((a, b) => b - a));
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
    expect(seen.map((e) => e.balance_after)).toEqual([65_000, 60_000, 56_000, 53_000, 51_000, 50_000]);
    const { user: profile } = await me(user);
    expect(seen.reduce((sum, e) => sum + e.amount, 0)).toBe(profile.credit);
    await expectLedgerBalanced(app.db.sql);
  });

  it('defaults to 20 rows and allows up to 100', async () => {
    const user = await signUp(app.server.baseUrl);
    for (let i = 0; i < 21; i++) await topUp(user, 100 + i);
    const first = await user.client.GET('/users/me/ledger');
    expect(first.data!.items).toHaveLength(20);
    expect(first.data!.next_cursor).not.toBeNull();
    const all = await user.client.GET('/users/me/ledger', { params: { query: { limit: 100 } } });
    expect(all.data!.items).toHaveLength(22);
    expect(all.data!.next_cursor).toBeNull();
    await expectLedgerBalanced(app.db.sql);
  });

  it('shows only the caller’s own movements', async () => {
    const alice = await signUp(app.server.baseUrl, 'Alice');
    const bob = await signUp(app.server.baseUrl, 'Bob');
    await topUp(bob, 3_333);
    const page = await alice.client.GET('/users/me/ledger', { params: { query: { limit: 100 } } });
    expect(page.data!.items.map((e) => e.amount)).toEqual([50_000]);
    await expectLedgerBalanced(app.db.sql);
  });

  it('refuses a cursor it did not issue and a limit out of range with 400', async () => {
    const user = await signUp(app.server.baseUrl);
    const garbage = await user.client.GET('/users/me/ledger', { params: { query: { cursor: 'bm90LWEtY3Vyc29y' } } });
    expect(expectProblem(sdkAnswer(garbage), 400, 'validation_failed').errors).toEqual([expect.objectContaining({ path: 'query.cursor' })]);
    for (const limit of [0, 101, 2.5]) {
      const bad = await user.client.GET('/users/me/ledger', { params: { query: { limit } } });
      expect(expectProblem(sdkAnswer(bad), 400, 'validation_failed').errors).toEqual([expect.objectContaining({ path: 'query.limit' })]);
    }
  });
});
