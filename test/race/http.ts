/**
 * Every request the harness sends goes through the generated SDK (openapi/client.ts) and through
 * `send()` here, which bounds it with a client-side timeout, optionally aborts it early on purpose
 * (the retry storm), times it and reduces the answer to what the scenarios and the audit need.
 */
import { randomUUID } from 'node:crypto';
import { createCoOrderClient, type CoOrderClient, type Schemas } from '../../openapi/client.js';

/** No request may take longer than this; one that does is a hang, an anomaly. */
export const REQUEST_TIMEOUT_MS = 10_000;

export type Status = number | 'timeout' | 'network' | 'aborted';

export interface Answer<Body = unknown> {
  status: Status;
  ms: number;
  instance: number;
  etag: string | null;
  location: string | null;
  replayed: boolean;
  retryAfter: string | null;
  /** Parsed JSON of a 2xx, or the problem of an error. */
  body: Body | undefined;
  /** Problem code of an error answer. */
  code?: string;
  /** Why the request failed without an HTTP answer. */
  failure?: string;
}

export type Order = Schemas['Order'];
/** What a non-participant sees of an order. */
export type PublicOrder = Schemas['PublicOrder'];

interface SdkResult {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/** `abortAfterMs`: abort on purpose after that many milliseconds, as an impatient client would. */
export type SendOptions = { abortAfterMs?: number };

/**
 * Sends one request. `abortAfterMs` aborts it on purpose after that many milliseconds, as an
 * impatient client would (status 'aborted'); the REQUEST_TIMEOUT_MS bound turns into 'timeout'.
 */
async function send<Body>(
  instance: number,
  call: (signal: AbortSignal) => Promise<SdkResult>,
  options: SendOptions = {},
): Promise<Answer<Body>> {
  const timeout = new AbortController();
  const impatient = new AbortController();
  const timers = [setTimeout(() => timeout.abort(new Error('timeout')), REQUEST_TIMEOUT_MS)];
  if (options.abortAfterMs !== undefined) {
    timers.push(setTimeout(() => impatient.abort(new Error('aborted')), options.abortAfterMs));
  }
  const started = performance.now();
  try {
    const { data, error, response } = await call(AbortSignal.any([timeout.signal, impatient.signal]));
    const body = (data ?? error) as Body | undefined;
    const code = response.ok ? undefined : ((error as { code?: string } | undefined)?.code ?? undefined);
    return {
      status: response.status,
      ms: performance.now() - started,
      instance,
      etag: response.headers.get('etag'),
      location: response.headers.get('location'),
      replayed: response.headers.get('idempotent-replayed') === 'true',
      retryAfter: response.headers.get('retry-after'),
      body,
      code,
    };
  } catch (thrown) {
    const status: Status = timeout.signal.aborted ? 'timeout' : impatient.signal.aborted ? 'aborted' : 'network';
    const cause = (thrown as { cause?: { code?: string; message?: string } }).cause;
    return {
      status,
      ms: performance.now() - started,
      instance,
      etag: null,
      location: null,
      replayed: false,
      retryAfter: null,
      body: undefined,
      failure: cause?.code ?? cause?.message ?? (thrown as Error).message,
    };
  } finally {
    timers.forEach(clearTimeout);
  }
}

/** A user as the harness drives them: one SDK client per instance, all with the user's token. */
export interface Actor {
  id: string;
  token: string;
  clients: CoOrderClient[];
}

export function actorClients(baseUrls: string[], token: string): CoOrderClient[] {
  return baseUrls.map((url) => createCoOrderClient(url, token));
}

export type OrderItem = Schemas['OrderItemInput'];
export type CreateBody = Schemas['CreateOrderInput'];

/** The calls the scenarios make, each a typed SDK call. */
/** A store's or a rider's step on an order (`key` optional where the contract says so). */
const step =
  (action: 'accept' | 'reject' | 'ready' | 'pick-up' | 'deliver') =>
  (a: Actor, i: number, orderId: string, etag: string, key?: string, o?: SendOptions) =>
    send<Order>(
      i,
      (signal) =>
        a.clients[i].POST(`/orders/{orderId}/${action}`, {
          params: { path: { orderId }, header: { 'If-Match': etag, 'Idempotency-Key': key ?? randomUUID() } },
          signal,
        }),
      o,
    );

export const api = {
  accept: step('accept'),
  reject: step('reject'),
  ready: step('ready'),
  pickUp: step('pick-up'),
  deliver: step('deliver'),
  createOrder: (a: Actor, i: number, key: string, body: CreateBody, o?: SendOptions) =>
    send<Order>(i, (signal) => a.clients[i].POST('/orders', { params: { header: { 'Idempotency-Key': key } }, body, signal }), o),
  join: (a: Actor, i: number, orderId: string, etag: string, key: string, items?: OrderItem[], o?: SendOptions) =>
    send<Order>(
      i,
      (signal) =>
        a.clients[i].POST('/orders/{orderId}/join', {
          params: { path: { orderId }, header: { 'If-Match': etag, 'Idempotency-Key': key } },
          body: items ? { items } : {},
          signal,
        }),
      o,
    ),
  cancel: (a: Actor, i: number, orderId: string, etag: string, key: string, o?: SendOptions) =>
    send<Order>(
      i,
      (signal) =>
        a.clients[i].POST('/orders/{orderId}/cancel', {
          params: { path: { orderId }, header: { 'If-Match': etag, 'Idempotency-Key': key } },
          signal,
        }),
      o,
    ),
  expire: (a: Actor, i: number, orderId: string, etag: string, key: string, o?: SendOptions) =>
    send<Order | PublicOrder>(
      i,
      (signal) =>
        a.clients[i].POST('/orders/{orderId}/expire', {
          params: { path: { orderId }, header: { 'If-Match': etag, 'Idempotency-Key': key } },
          signal,
        }),
      o,
    ),
  topUp: (a: Actor, i: number, key: string, amount: number, o?: SendOptions) =>
    send<Schemas['TopUp']>(
      i,
      (signal) =>
        a.clients[i].POST('/users/me/credit/top-ups', { params: { header: { 'Idempotency-Key': key } }, body: { amount }, signal }),
      o,
    ),
  confirmTopUp: (a: Actor, i: number, topUpId: string, key: string, paymentKey: string, o?: SendOptions) =>
    send<Schemas['TopUp']>(
      i,
      (signal) =>
        a.clients[i].POST('/users/me/credit/top-ups/{topUpId}/confirm', {
          params: { path: { topUpId }, header: { 'Idempotency-Key': key } },
          body: { payment_key: paymentKey },
          signal,
        }),
      o,
    ),
  getTopUp: (a: Actor, i: number, topUpId: string) =>
    send<Schemas['TopUp']>(i, (signal) =>
      a.clients[i].GET('/users/me/credit/top-ups/{topUpId}', { params: { path: { topUpId } }, signal }),
    ),
  getOrder: (a: Actor, i: number, orderId: string) =>
    send<Order | PublicOrder>(i, (signal) => a.clients[i].GET('/orders/{orderId}', { params: { path: { orderId } }, signal })),
  me: (a: Actor, i: number) => send<Schemas['User']>(i, (signal) => a.clients[i].GET('/users/me', { signal })),
  ledger: (a: Actor, i: number, cursor?: string) =>
    send<Schemas['LedgerPage']>(i, (signal) =>
      a.clients[i].GET('/users/me/ledger', { params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } }, signal }),
    ),
  myOrders: (a: Actor, i: number, cursor?: string) =>
    send<Schemas['OrderPage']>(i, (signal) =>
      a.clients[i].GET('/users/me/orders', { params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } }, signal }),
    ),
};

export const is2xx = (s: Status): s is number => typeof s === 'number' && s >= 200 && s < 300;

/** 409 "busy": the request could not get its lock (or its key) in time and changed nothing; retry. */
export const isBusy = (a: Answer<unknown>) => a.status === 409 && a.code === 'request_in_progress';

/** The ETag of an order's version, as clients must see it: the strong tag "v<version>". */
export const etagOf = (version: number) => `"v${version}"`;
