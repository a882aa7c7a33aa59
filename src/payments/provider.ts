/**
 * The payment provider's confirm API over HTTP: `POST /v1/payments/confirm` (with our own
 * Idempotency-Key) and `GET /v1/payments/orders/{orderId}`, both with `Authorization: Basic
 * base64(secret + ":")`. Every call is bounded by a timeout. What the provider answered is sorted
 * into three outcomes, and only two of them are answers: a call that timed out, failed on the
 * network or got a 5xx may or may not have captured the money, so it is `unknown`, never a decline.
 */

export const PROVIDER_PAYMENT_STATUSES = ['READY', 'IN_PROGRESS', 'DONE', 'CANCELED', 'ABORTED'] as const;
export type ProviderPaymentStatus = (typeof PROVIDER_PAYMENT_STATUSES)[number];
/** The statuses of a payment that ended without capturing anything. */
export const UNCAPTURED_END_STATUSES = ['CANCELED', 'ABORTED'] as const satisfies readonly ProviderPaymentStatus[];
export type UncapturedEndStatus = (typeof UNCAPTURED_END_STATUSES)[number];
export const endedUncaptured = (status: string): status is UncapturedEndStatus =>
  (UNCAPTURED_END_STATUSES as readonly string[]).includes(status);

export interface ProviderPayment {
  paymentKey: string;
  orderId: string;
  status: ProviderPaymentStatus;
  totalAmount: number;
}

export type ConfirmOutcome =
  /** The provider captured the payment. */
  | { kind: 'done'; payment: ProviderPayment }
  /** The provider refused it (declined, amount mismatch, unknown payment): nothing was captured. */
  | { kind: 'refused'; code: string; message: string }
  /** No answer we can act on: it may have captured the money. Ask again later. */
  | { kind: 'unknown'; reason: string };

export type LookupOutcome = { kind: 'found'; payment: ProviderPayment } | { kind: 'not_found' } | { kind: 'unknown'; reason: string };

export interface PaymentProvider {
  confirm(input: { paymentKey: string; orderId: string; amount: number }, idempotencyKey: string): Promise<ConfirmOutcome>;
  lookup(orderId: string): Promise<LookupOutcome>;
}

function isPayment(value: unknown): value is ProviderPayment {
  const p = value as Partial<ProviderPayment> | null;
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.paymentKey === 'string' &&
    typeof p.orderId === 'string' &&
    typeof p.totalAmount === 'number' &&
    Number.isSafeInteger(p.totalAmount) &&
    (PROVIDER_PAYMENT_STATUSES as readonly unknown[]).includes(p.status)
  );
}

// 408 and 429 are the provider asking us to come back, not a verdict on the payment.
const RETRY_LATER = new Set([408, 429]);

export function httpPaymentProvider(options: { baseUrl: string; secretKey: string; timeoutMs: number }): PaymentProvider {
  const authorization = `Basic ${Buffer.from(`${options.secretKey}:`).toString('base64')}`;
  const base = options.baseUrl.replace(/\/+$/, '');

  async function call(path: string, init: RequestInit): Promise<{ status: number; body: unknown } | { failed: string }> {
    try {
      const response = await fetch(base + path, {
        ...init,
        headers: { ...init.headers, Authorization: authorization, Accept: 'application/json' },
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      const text = await response.text();
      let body: unknown = undefined;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // A body that is not JSON: judged by its status alone.
      }
      return { status: response.status, body };
    } catch (error) {
      const name = (error as Error | undefined)?.name;
      return { failed: name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : `unreachable (${String(error)})` };
    }
  }

  return {
    async confirm(input, idempotencyKey) {
      const answer = await call('/v1/payments/confirm', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': idempotencyKey },
        body: JSON.stringify(input),
      });
      if ('failed' in answer) return { kind: 'unknown', reason: answer.failed };
      const { status, body } = answer;
      if (status === 200 && isPayment(body) && body.status === 'DONE') return { kind: 'done', payment: body };
      if (status >= 400 && status < 500 && !RETRY_LATER.has(status)) {
        const refusal = (body ?? {}) as { code?: unknown; message?: unknown };
        return {
          kind: 'refused',
          code: typeof refusal.code === 'string' ? refusal.code.slice(0, 100) : `HTTP_${status}`,
          message: typeof refusal.message === 'string' ? refusal.message.slice(0, 300) : 'The payment provider refused the payment.',
        };
      }
      return { kind: 'unknown', reason: `answered ${status}` };
    },

    async lookup(orderId) {
      const answer = await call(`/v1/payments/orders/${encodeURIComponent(orderId)}`, { method: 'GET' });
      if ('failed' in answer) return { kind: 'unknown', reason: answer.failed };
      if (answer.status === 404) return { kind: 'not_found' };
      if (answer.status === 200 && isPayment(answer.body)) return { kind: 'found', payment: answer.body };
      return { kind: 'unknown', reason: `answered ${answer.status}` };
    },
  };
}
