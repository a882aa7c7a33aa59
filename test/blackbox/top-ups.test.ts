/**
 * Money in through a payment provider, against the simulator (test/support/payment-provider.ts) on
 * loopback and the real service: each of the provider's faults, and after each the audit — every
 * DONE payment at the provider credited exactly once at its amount, nothing credited without one,
 * balances equal to their ledgers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { paymentSignature } from '../../src/payments/webhook.js';
import { createCoOrderClient } from '../../openapi/client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { expectPaymentsCreditedOnce, paymentsEnv, startPaymentProvider, type PaymentProviderSim } from '../support/payment-provider.js';
import { startServer, type RunningServer } from '../support/server.js';
import { freePort } from '../support/urls.js';
import { newKey, signUp, type TestUser } from '../support/world.js';

let sim: PaymentProviderSim;
let db: TestDatabase;
let server: RunningServer;

beforeAll(async () => {
  sim = await startPaymentProvider();
  db = await createTestDatabase();
  server = await startServer(db.url, { ...paymentsEnv(sim), JOBS_ENABLED: 'true', SWEEP_INTERVAL_SECONDS: '1' });
  sim.webhookUrl = `${server.baseUrl}/webhooks/payments`;
});
afterAll(async () => {
  await server?.stop();
  await sim?.close();
  await db?.drop();
});
afterEach(async () => {
  await sim.settled();
  await expectPaymentsCreditedOnce(db.sql, sim);
});

const create = (user: TestUser, amount: number, key = newKey()) =>
  user.client.POST('/users/me/credit/top-ups', { params: { header: { 'Idempotency-Key': key } }, body: { amount } });
const confirm = (user: TestUser, id: string, paymentKey: string, key = newKey()) =>
  user.client.POST('/users/me/credit/top-ups/{topUpId}/confirm', {
    params: { path: { topUpId: id }, header: { 'Idempotency-Key': key } },
    body: { payment_key: paymentKey },
  });
const get = (user: TestUser, id: string) => user.client.GET('/users/me/credit/top-ups/{topUpId}', { params: { path: { topUpId: id } } });
const creditOf = async (user: TestUser) => (await user.client.GET('/users/me')).data!.credit;

/** A user with a top-up of `amount` awaiting payment, paid at the provider. */
async function paidTopUp(amount: number, paidAmount = amount) {
  const user = await signUp(server.baseUrl, 'Payer');
  const made = await create(user, amount);
  expect(made.response.status).toBe(201);
  expect(made.data).toMatchObject({ status: 'awaiting_payment', amount, demo: false, credit: null, entry: null });
  const id = made.data!.id;
  return { user, id, paymentKey: sim.pay(id, paidAmount) };
}

const settledAs = (user: TestUser, id: string, status: string) =>
  eventually(
    async () => ((await get(user, id)).data?.status === status ? (await get(user, id)).data : undefined),
    () => `top-up ${id} did not become ${status}`,
    { timeoutMs: 20_000 },
  );

describe('top-ups through the payment provider', () => {
  it('awaits payment, then a confirm credits once; its key replays and another key credits nothing more', async () => {
    const { user, id, paymentKey } = await paidTopUp(20_000);
    expect(await creditOf(user)).toBe(50_000);
    const key = newKey();
    const first = await confirm(user, id, paymentKey, key);
    expect(first.response.status).toBe(200);
    expect(first.data).toMatchObject({
      id,
      status: 'succeeded',
      payment_key: paymentKey,
      credit: 70_000,
      entry: { kind: 'top_up', amount: 20_000 },
    });
    const replay = await confirm(user, id, paymentKey, key);
    expect(replay.response.headers.get('Idempotent-Replayed')).toBe('true');
    expect((await confirm(user, id, paymentKey)).data).toMatchObject({ status: 'succeeded', credit: 70_000 });
    expect(await creditOf(user)).toBe(70_000);
    // Every confirm of one top-up reached the provider with the same key of ours.
    const keys = new Set(sim.confirmRequests.filter((r) => r.orderId === id).map((r) => r.idempotencyKey));
    expect(keys.size).toBe(1);
    const list = await user.client.GET('/users/me/credit/top-ups');
    expect(list.data!.items.map((t) => t.id)).toEqual([id]);
  });

  it('a declined card is 402 payment_declined, stored with its key, nothing credited', async () => {
    const { user, id, paymentKey } = await paidTopUp(5_000);
    sim.failNextConfirm({ kind: 'decline' });
    const key = newKey();
    const declined = await confirm(user, id, paymentKey, key);
    expect(declined.response.status).toBe(402);
    expect(declined.error).toMatchObject({ code: 'payment_declined' });
    expect((await confirm(user, id, paymentKey, key)).response.headers.get('Idempotent-Replayed')).toBe('true');
    expect((await get(user, id)).data).toMatchObject({ status: 'failed', failure: { code: 'REJECT_CARD_PAYMENT' }, credit: null });
    expect(await creditOf(user)).toBe(50_000);
  });

  it("a decline whose webhook lands before the confirm's answer still shows the issuer's reason", async () => {
    const { user, id, paymentKey } = await paidTopUp(4_000);
    sim.forOrder(id, { faults: [{ kind: 'decline' }], webhooks: [{ kind: 'early' }] });
    const declined = await confirm(user, id, paymentKey);
    expect(declined.response.status).toBe(402);
    expect(sim.deliveries.filter((d) => d.orderId === id)).toEqual([{ orderId: id, status: 200 }]);
    expect((await get(user, id)).data).toMatchObject({ status: 'failed', failure: { code: 'REJECT_CARD_PAYMENT' }, credit: null });
    expect(await creditOf(user)).toBe(50_000);
  });

  it('an amount that is not what was paid is refused by the provider: 402, nothing captured or credited', async () => {
    const { user, id, paymentKey } = await paidTopUp(9_000, 900);
    const refused = await confirm(user, id, paymentKey);
    expect(refused.response.status).toBe(402);
    expect((await get(user, id)).data).toMatchObject({ status: 'failed', failure: { code: 'AMOUNT_MISMATCH' } });
    expect(await creditOf(user)).toBe(50_000);
  });

  it('a 5xx before capturing is 202 processing, not stored: the retry with the same key asks again and succeeds', async () => {
    const { user, id, paymentKey } = await paidTopUp(3_000);
    sim.failNextConfirm({ kind: 'error_before_capture' });
    const key = newKey();
    const first = await confirm(user, id, paymentKey, key);
    expect(first.response.status).toBe(202);
    expect(first.data).toMatchObject({ status: 'processing', credit: null });
    const retry = await confirm(user, id, paymentKey, key);
    expect(retry.response.status).toBe(200);
    expect(retry.response.headers.get('Idempotent-Replayed')).toBeNull();
    expect(await creditOf(user)).toBe(53_000);
  });

  it('a 5xx after capturing is 202; the webhook settles it and a retry answers succeeded, credited once', async () => {
    const { user, id, paymentKey } = await paidTopUp(4_000);
    sim.failNextConfirm({ kind: 'error_after_capture' });
    expect((await confirm(user, id, paymentKey)).response.status).toBe(202);
    await settledAs(user, id, 'succeeded');
    expect((await confirm(user, id, paymentKey)).data).toMatchObject({ status: 'succeeded', credit: 54_000 });
    expect(await creditOf(user)).toBe(54_000);
  });

  it('a timeout after capturing, and no webhook: 202, then the settler asks the provider and credits once', async () => {
    const { user, id, paymentKey } = await paidTopUp(6_000);
    sim.failNextConfirm({ kind: 'timeout_after_capture' });
    sim.webhooks({ kind: 'none' });
    sim.failNextLookups(1);
    const started = Date.now();
    expect((await confirm(user, id, paymentKey)).response.status).toBe(202);
    expect(Date.now() - started).toBeLessThan(5_000);
    await settledAs(user, id, 'succeeded');
    expect(await creditOf(user)).toBe(56_000);
  });

  it('a slow answer within the timeout is still 200', async () => {
    const { user, id, paymentKey } = await paidTopUp(1_000);
    sim.failNextConfirm({ kind: 'slow', ms: 600 });
    expect((await confirm(user, id, paymentKey)).response.status).toBe(200);
    expect(await creditOf(user)).toBe(51_000);
  });

  it.each([
    ['early (before the confirm is answered)', { kind: 'early' } as const],
    ['duplicated', { kind: 'duplicate' } as const],
    ['delayed past the confirm', { kind: 'delay', ms: 300 } as const],
  ])('a webhook %s changes nothing more: credited once', async (_name, mode) => {
    const { user, id, paymentKey } = await paidTopUp(2_500);
    sim.webhooks(mode);
    expect((await confirm(user, id, paymentKey)).data).toMatchObject({ status: 'succeeded', credit: 52_500 });
    await sim.settled();
    expect(sim.deliveries.filter((d) => d.orderId === id).every((d) => d.status === 200)).toBe(true);
    expect(await creditOf(user)).toBe(52_500);
  });

  it('a webhook alone (the client never confirms) settles and credits the top-up', async () => {
    const { user, id, paymentKey } = await paidTopUp(7_000);
    await sim.captureDirectly(paymentKey);
    await settledAs(user, id, 'succeeded');
    expect(await creditOf(user)).toBe(57_000);
    expect((await confirm(user, id, paymentKey)).response.status).toBe(200);
  });

  it('a webhook with a bad or missing signature is 401 and changes nothing', async () => {
    const { user, id, paymentKey } = await paidTopUp(8_000);
    sim.failNextConfirm({ kind: 'error_before_capture' });
    sim.webhooks({ kind: 'bad_signature' });
    await sim.captureDirectly(paymentKey);
    await sim.settled();
    expect(sim.deliveries.filter((d) => d.orderId === id).map((d) => d.status)).toEqual([401]);
    const body = JSON.stringify({
      eventType: 'PAYMENT_STATUS_CHANGED',
      data: { paymentKey, orderId: id, status: 'DONE', totalAmount: 8_000 },
    });
    const post = (headers: Record<string, string>, text = body) =>
      fetch(`${server.baseUrl}/webhooks/payments`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: text,
      });
    const missing = await post({});
    expect(missing.status).toBe(401);
    expect((await missing.json()) as unknown).toMatchObject({ code: 'webhook_signature_invalid' });
    // Signed, but not these bytes (one space added after signing).
    expect((await post({ 'X-Payment-Signature': paymentSignature(sim.webhookSecret, body) }, `${body} `)).status).toBe(401);
    expect((await get(user, id)).data!.status).toBe('awaiting_payment');
    expect(await creditOf(user)).toBe(50_000);
    // The same bytes, signed: settled, and a repeat changes nothing.
    for (let i = 0; i < 2; i++) expect((await post({ 'X-Payment-Signature': paymentSignature(sim.webhookSecret, body) })).status).toBe(200);
    expect(await creditOf(user)).toBe(58_000);
  });

  it("another user's top-up is 404 to confirm and to read", async () => {
    const { id, paymentKey } = await paidTopUp(1_000);
    const stranger = await signUp(server.baseUrl, 'Stranger');
    expect((await confirm(stranger, id, paymentKey)).response.status).toBe(404);
    expect((await get(stranger, id)).response.status).toBe(404);
  });
});

/**
 * A top-up of `amount` paid at `provider`, its confirm sent to `instance` and answered slowly; once
 * the provider has captured it, `instance` is SIGKILLed before it can credit. Returns the top-up
 * id, checked to be left `processing`.
 */
async function killedBetweenCaptureAndCredit(
  instance: RunningServer,
  provider: PaymentProviderSim,
  sql: TestDatabase['sql'],
  user: TestUser,
  amount: number,
): Promise<string> {
  const id = (await create(user, amount)).data!.id;
  const paymentKey = provider.pay(id, amount);
  provider.failNextConfirm({ kind: 'slow', ms: 1_000 });
  const pending = confirm(user, id, paymentKey).catch(() => undefined);
  await eventually(
    async () => provider.payments().find((p) => p.orderId === id && p.status === 'DONE'),
    () => 'the provider never captured',
  );
  await instance.kill();
  await pending;
  const [row] = await sql`SELECT status FROM top_ups WHERE id = ${id}`;
  expect(row.status).toBe('processing');
  return id;
}

describe('a crash between the capture and the credit', () => {
  it('SIGKILLed while the provider answers: the settler (on the instance still up) credits it once', async () => {
    const own = await startServer(db.url, { ...paymentsEnv(sim), JOBS_ENABLED: 'false' });
    sim.webhookUrl = undefined;
    try {
      const user = await signUp(own.baseUrl, 'Crash');
      const id = await killedBetweenCaptureAndCredit(own, sim, db.sql, user, 11_000);
      // The other instance runs the jobs: its settler finishes what the killed one left.
      await settledAs({ ...user, client: createCoOrderClient(server.baseUrl, user.token) }, id, 'succeeded');
      const [{ credit }] = await db.sql`SELECT credit::int AS credit FROM users WHERE id = ${user.user.id}`;
      expect(credit).toBe(61_000);
    } finally {
      sim.webhookUrl = `${server.baseUrl}/webhooks/payments`;
      await own.stop().catch(() => undefined);
    }
  });
});

describe('a crash between the capture and the credit, and the same instance restarted', () => {
  it('SIGKILLed while the provider answers, restarted on the same database and config: its own settler credits it once', async () => {
    // A database and a provider of its own, and no other instance on them: only the restarted
    // process can settle this top-up. No webhook is sent, so only a settler can. Its settle age
    // (2 s) is past the capture, so the settler does not finish it before the kill.
    const ownSim = await startPaymentProvider();
    const ownDb = await createTestDatabase();
    const env = {
      ...paymentsEnv(ownSim),
      PAYMENTS_SETTLE_AFTER_SECONDS: '2',
      JOBS_ENABLED: 'true',
      SWEEP_INTERVAL_SECONDS: '1',
      PORT: String(await freePort()),
    };
    let instance = await startServer(ownDb.url, env);
    const killed = instance;
    try {
      const user = await signUp(instance.baseUrl, 'Crash and restart');
      const id = await killedBetweenCaptureAndCredit(instance, ownSim, ownDb.sql, user, 12_000);
      const creditNow = async () =>
        (await ownDb.sql`SELECT credit::int AS credit FROM users WHERE id = ${user.user.id}`)[0].credit as number;
      expect(await creditNow()).toBe(50_000);

      instance = await startServer(ownDb.url, env);
      expect(instance.baseUrl).toBe(killed.baseUrl);
      await settledAs(user, id, 'succeeded');
      expect(await creditNow()).toBe(62_000);
      // The restarted process's settler credited it (it logs so); the killed one never did.
      const settledBy = (s: RunningServer) =>
        s.logs.some((line) => line.includes('"msg":"top-up settled"') && line.includes(id) && line.includes('"via":"settler"'));
      expect(settledBy(instance)).toBe(true);
      expect(settledBy(killed)).toBe(false);
      // It asked the provider with the top-up's own key, so the capture was not repeated.
      const keys = new Set(ownSim.confirmRequests.filter((r) => r.orderId === id).map((r) => r.idempotencyKey));
      expect(keys.size).toBe(1);
      await expectPaymentsCreditedOnce(ownDb.sql, ownSim);
    } finally {
      await instance.stop().catch(() => undefined);
      await ownSim.close();
      await ownDb.drop();
    }
  });
});
