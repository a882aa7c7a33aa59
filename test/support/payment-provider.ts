/**
 * A payment-provider simulator: a real HTTP server on loopback speaking the provider's confirm
 * protocol (POST /v1/payments/confirm, GET /v1/payments/orders/{orderId}, signed webhooks to the
 * service). It keeps its own payments, the money it "captured", checks our Basic secret, honours
 * our Idempotency-Key (a repeated key gets the first answer, once that answer exists), and injects
 * faults on command: each confirm takes the next fault queued, each capture the next webhook mode
 * (those queued for its order first: concurrent rounds of the race harness each get their own).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type postgres from 'postgres';

export type PaymentStatus = 'READY' | 'IN_PROGRESS' | 'DONE' | 'CANCELED' | 'ABORTED';

export interface SimPayment {
  paymentKey: string;
  orderId: string;
  /** What the customer agreed to pay at the provider. */
  amount: number;
  status: PaymentStatus;
  approvedAt?: string;
}

export type ConfirmFault =
  /** Answers (after capturing) only after `ms`. */
  | { kind: 'slow'; ms: number }
  /** Captures, then never answers (the caller's timeout ends it). */
  | { kind: 'timeout_after_capture' }
  /** 500 before anything happened: a retry runs afresh. */
  | { kind: 'error_before_capture' }
  /** Captures, then answers 500. */
  | { kind: 'error_after_capture' }
  /** The card is declined: ABORTED, 4xx. */
  | { kind: 'decline' };

export type WebhookMode =
  | { kind: 'normal' }
  | { kind: 'none' }
  | { kind: 'duplicate' }
  /** Sent `ms` after the confirm was answered. */
  | { kind: 'delay'; ms: number }
  /** Delivered (and answered by the service) before the confirm is answered. */
  | { kind: 'early' }
  | { kind: 'bad_signature' };

export interface WebhookDelivery {
  orderId: string;
  status: number;
}

export interface PaymentProviderSim {
  url: string;
  secretKey: string;
  webhookSecret: string;
  /**
   * Where webhooks go (the service's POST /webhooks/payments); set once the service is up. Several:
   * each delivery goes to one of them at random, as through a load balancer in front of instances.
   */
  webhookUrl: string | string[] | undefined;
  /** The customer pays at the provider: a READY payment for `orderId`, its payment key returned. */
  pay(orderId: string, amount: number): string;
  /** The provider captures a READY payment on its own (no confirm) and notifies the service. */
  captureDirectly(paymentKey: string): Promise<void>;
  failNextConfirm(...faults: ConfirmFault[]): void;
  /** Faults and webhook modes for this order's confirms and captures only, taken before the shared queues. */
  forOrder(orderId: string, queued: { faults?: ConfirmFault[]; webhooks?: WebhookMode[] }): void;
  /** 500 for the next `count` lookups. */
  failNextLookups(count: number): void;
  webhooks(...modes: WebhookMode[]): void;
  payments(): SimPayment[];
  confirmRequests: { idempotencyKey: string | undefined; orderId: string }[];
  deliveries: WebhookDelivery[];
  /** Resolves once every webhook sent so far (for `orderId`, if given) has been answered. */
  settled(orderId?: string): Promise<void>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req
      .on('data', (c: Buffer) => chunks.push(c))
      .on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
      .on('error', reject);
  });
}

export async function startPaymentProvider(options: { secretKey?: string; webhookSecret?: string } = {}): Promise<PaymentProviderSim> {
  const secretKey = options.secretKey ?? `sk_test_${randomUUID()}`;
  const webhookSecret = options.webhookSecret ?? `whsec_${randomUUID()}`;
  const byKey = new Map<string, SimPayment>();
  const answers = new Map<string, { status: number; body: unknown }>();
  const faults: ConfirmFault[] = [];
  const modes: WebhookMode[] = [];
  let failingLookups = 0;
  const ofOrder = new Map<string, { faults: ConfirmFault[]; webhooks: WebhookMode[] }>();
  /** Webhooks being sent (or waiting to be), each with its order. */
  const inFlight = new Map<Promise<unknown>, string>();
  const track = (orderId: string, run: Promise<unknown>) => {
    inFlight.set(run, orderId);
    void run.finally(() => inFlight.delete(run));
  };
  const confirmRequests: PaymentProviderSim['confirmRequests'] = [];
  const deliveries: WebhookDelivery[] = [];
  const sockets = new Set<import('node:net').Socket>();

  const view = (p: SimPayment) => ({
    paymentKey: p.paymentKey,
    orderId: p.orderId,
    status: p.status,
    totalAmount: p.amount,
    approvedAt: p.approvedAt,
  });
  const send = (res: ServerResponse, status: number, body: unknown) => {
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  };

  async function deliver(payment: SimPayment, badSignature = false): Promise<void> {
    const urls = typeof sim.webhookUrl === 'string' ? [sim.webhookUrl] : (sim.webhookUrl ?? []);
    if (!urls.length) return;
    const body = JSON.stringify({
      eventType: 'PAYMENT_STATUS_CHANGED',
      data: { paymentKey: payment.paymentKey, orderId: payment.orderId, status: payment.status, totalAmount: payment.amount },
    });
    const signature = createHmac('sha256', badSignature ? `${webhookSecret}-wrong` : webhookSecret)
      .update(body)
      .digest('hex');
    const sent = fetch(urls[Math.floor(Math.random() * urls.length)], {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Payment-Signature': `sha256=${signature}` },
      body,
    })
      .then((r) => void deliveries.push({ orderId: payment.orderId, status: r.status }))
      .catch(() => void deliveries.push({ orderId: payment.orderId, status: 0 }));
    track(payment.orderId, sent);
    await sent;
  }

  /** Notifies as the next mode says; resolves when the confirm may be answered. */
  async function notify(payment: SimPayment): Promise<() => void> {
    const mode = ofOrder.get(payment.orderId)?.webhooks.shift() ?? modes.shift() ?? { kind: 'normal' };
    const later = (fn: () => Promise<void>) => () => track(payment.orderId, fn());
    switch (mode.kind) {
      case 'none':
        return () => {};
      case 'early':
        await deliver(payment);
        return () => {};
      case 'duplicate':
        return later(async () => {
          await Promise.all([deliver(payment), deliver(payment)]);
        });
      case 'delay':
        return later(async () => {
          await sleep(mode.ms);
          await deliver(payment);
        });
      case 'bad_signature':
        return later(() => deliver(payment, true));
      default:
        return later(() => deliver(payment));
    }
  }

  async function confirm(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const key = req.headers['idempotency-key'] as string | undefined;
    const input = JSON.parse(await readBody(req)) as { paymentKey: string; orderId: string; amount: number };
    confirmRequests.push({ idempotencyKey: key, orderId: input.orderId });
    if (!key) return send(res, 400, { code: 'INVALID_REQUEST', message: 'Idempotency-Key is required.' });
    const earlier = answers.get(key);
    if (earlier) return send(res, earlier.status, earlier.body);
    const answer = (status: number, body: unknown) => {
      answers.set(key, { status, body });
      return { status, body };
    };
    const payment = byKey.get(input.paymentKey);
    if (!payment) return send(res, 404, answer(404, { code: 'NOT_FOUND_PAYMENT', message: 'No such payment.' }).body);
    if (payment.orderId !== input.orderId)
      return send(res, 400, answer(400, { code: 'INVALID_REQUEST', message: 'orderId does not match.' }).body);
    const fault = ofOrder.get(input.orderId)?.faults.shift() ?? faults.shift();
    if (fault?.kind === 'error_before_capture') return send(res, 500, { code: 'PROVIDER_ERROR', message: 'Try again.' });
    if (payment.status === 'DONE') return send(res, 200, answer(200, view(payment)).body);
    if (payment.status !== 'READY') return send(res, 400, answer(400, { code: 'NOT_AVAILABLE_PAYMENT', message: payment.status }).body);
    if (input.amount !== payment.amount) {
      return send(res, 400, answer(400, { code: 'AMOUNT_MISMATCH', message: 'The amount is not what was paid.' }).body);
    }
    if (fault?.kind === 'decline') {
      payment.status = 'ABORTED';
      const release = await notify(payment);
      send(res, 403, answer(403, { code: 'REJECT_CARD_PAYMENT', message: 'The card issuer declined the payment.' }).body);
      return release();
    }
    payment.status = 'DONE';
    payment.approvedAt = new Date().toISOString();
    answer(200, view(payment));
    const release = await notify(payment);
    if (fault?.kind === 'timeout_after_capture') return release();
    if (fault?.kind === 'error_after_capture') {
      send(res, 500, { code: 'PROVIDER_ERROR', message: 'Something broke.' });
      return release();
    }
    if (fault?.kind === 'slow') await sleep(fault.ms);
    send(res, 200, view(payment));
    release();
  }

  const server = createServer((req, res) => {
    const auth = req.headers.authorization;
    if (auth !== `Basic ${Buffer.from(`${secretKey}:`).toString('base64')}`) {
      return send(res, 401, { code: 'UNAUTHORIZED_KEY', message: 'Unknown secret key.' });
    }
    const url = new URL(req.url ?? '/', 'http://sim');
    if (req.method === 'POST' && url.pathname === '/v1/payments/confirm') {
      return void confirm(req, res).catch(() => send(res, 500, { code: 'PROVIDER_ERROR', message: 'Bad request.' }));
    }
    const lookup = /^\/v1\/payments\/orders\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && lookup) {
      if (failingLookups > 0) {
        failingLookups -= 1;
        return send(res, 503, { code: 'PROVIDER_ERROR', message: 'Try again.' });
      }
      const payment = [...byKey.values()].find((p) => p.orderId === decodeURIComponent(lookup[1]));
      return payment ? send(res, 200, view(payment)) : send(res, 404, { code: 'NOT_FOUND_PAYMENT', message: 'No such payment.' });
    }
    send(res, 404, { code: 'NOT_FOUND', message: 'No such endpoint.' });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const sim: PaymentProviderSim = {
    url: `http://127.0.0.1:${port}`,
    secretKey,
    webhookSecret,
    webhookUrl: undefined,
    pay(orderId, amount) {
      const paymentKey = `pay_${randomUUID()}`;
      byKey.set(paymentKey, { paymentKey, orderId, amount, status: 'READY' });
      return paymentKey;
    },
    async captureDirectly(paymentKey) {
      const payment = byKey.get(paymentKey)!;
      payment.status = 'DONE';
      payment.approvedAt = new Date().toISOString();
      (await notify(payment))();
    },
    failNextConfirm: (...f) => void faults.push(...f),
    forOrder(orderId, queued) {
      const own = ofOrder.get(orderId) ?? { faults: [], webhooks: [] };
      own.faults.push(...(queued.faults ?? []));
      own.webhooks.push(...(queued.webhooks ?? []));
      ofOrder.set(orderId, own);
    },
    failNextLookups: (count) => void (failingLookups = count),
    webhooks: (...m) => void modes.push(...m),
    payments: () => [...byKey.values()],
    confirmRequests,
    deliveries,
    async settled(orderId) {
      const pending = () => [...inFlight].filter(([, order]) => orderId === undefined || order === orderId).map(([run]) => run);
      for (let runs = pending(); runs.length; runs = pending()) await Promise.allSettled(runs);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return sim;
}

/** The service's environment for a provider at `sim` (short timeouts and settle age for tests). */
export function paymentsEnv(sim: Pick<PaymentProviderSim, 'url' | 'secretKey' | 'webhookSecret'>): Record<string, string> {
  return {
    PAYMENTS_API_URL: sim.url,
    PAYMENTS_SECRET_KEY: sim.secretKey,
    PAYMENTS_WEBHOOK_SECRET: sim.webhookSecret,
    PAYMENTS_TIMEOUT_MS: '1500',
    PAYMENTS_SETTLE_AFTER_SECONDS: '1',
  };
}

/** For production servers that never top up: a provider configured, nowhere to be reached. */
export const UNREACHABLE_PAYMENTS_ENV = {
  PAYMENTS_API_URL: 'http://127.0.0.1:9',
  PAYMENTS_SECRET_KEY: 'sk_test_unreachable',
  PAYMENTS_WEBHOOK_SECRET: 'whsec_test_unreachable_provider',
};

/**
 * The payments audit: each DONE payment at the simulator is credited exactly once, at its amount;
 * no top-up is credited without one; a top-up through the provider has succeeded exactly when it
 * is credited; every balance equals its ledger and none is negative. Returns what is wrong (the
 * race harness's audit reports it; tests fail on it through expectPaymentsCreditedOnce).
 */
export async function paymentsAuditViolations(sql: postgres.Sql, payments: SimPayment[]): Promise<string[]> {
  const topUps = await sql<{ id: string; status: string; credits: number; credited: number }[]>`
    SELECT t.id::text AS id, t.status, count(l.id)::int AS credits, coalesce(sum(l.amount), 0)::int AS credited
    FROM top_ups t LEFT JOIN credit_ledger l ON l.top_up_id = t.id WHERE NOT t.demo GROUP BY t.id`;
  const byId = new Map(topUps.map((t) => [t.id, t]));
  const done = new Map(payments.filter((p) => p.status === 'DONE').map((p) => [p.orderId, p]));
  const violations: string[] = [];
  for (const p of done.values()) {
    const t = byId.get(p.orderId);
    if (t?.credits !== 1 || t.credited !== p.amount) {
      violations.push(`payment ${p.orderId} DONE at ${p.amount} KRW: credited ${t?.credits ?? 0} times, ${t?.credited ?? 0} KRW in all`);
    }
  }
  for (const t of topUps) {
    if (t.credits > 0 && !done.has(t.id)) violations.push(`top-up ${t.id} credited ${t.credited} KRW without a DONE payment`);
    if ((t.status === 'succeeded') !== t.credits > 0) violations.push(`top-up ${t.id} is ${t.status}, credited ${t.credits} times`);
  }
  const unbalanced = await sql<{ id: string }[]>`
    SELECT u.id::text AS id FROM users u LEFT JOIN credit_ledger l ON l.user_id = u.id
    GROUP BY u.id, u.credit HAVING u.credit <> coalesce(sum(l.amount), 0) OR u.credit < 0`;
  for (const u of unbalanced) violations.push(`user ${u.id}: the balance is not the sum of the ledger, or is negative`);
  return violations;
}

/** The payments audit (paymentsAuditViolations) as a test's check: throws what is wrong. */
export async function expectPaymentsCreditedOnce(sql: postgres.Sql, sim: PaymentProviderSim): Promise<void> {
  const violations = await paymentsAuditViolations(sql, sim.payments());
  if (violations.length) throw new Error(`payments audit:\n  ${violations.join('\n  ')}`);
}
