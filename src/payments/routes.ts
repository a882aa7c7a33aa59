import { createRoute, z } from '@hono/zod-openapi';
import { DEFAULTS } from '../config.js';
import { TOP_UP_MAX_KRW } from '../domain/limits.js';
import { TOP_UP_STATUSES } from '../domain/kinds.js';
import {
  NextCursor,
  PaginationQuery,
  UuidParam,
  actionProblems,
  dateTime,
  headers,
  jsonResponse,
  params,
  problems,
  security,
  uuid,
  withCodes,
} from '../http/openapi.js';
import { LedgerEntrySchema } from '../users/routes.js';
import { PROVIDER_PAYMENT_STATUSES, UNCAPTURED_END_STATUSES } from './provider.js';

export const TOP_UP_STATES_TEXT =
  '`awaiting_payment`: made, nothing credited; the client pays at the payment provider with the top-up `id` as the ' +
  "provider's orderId, then confirms. `processing`: confirmed by the client, the provider's answer not known yet " +
  '(it is asked again until it is); nothing credited yet. `succeeded`: the provider captured the payment and the ' +
  'wallet was credited, exactly once (`entry`). `failed`: the provider declined or cancelled it (`failure`); nothing credited.';

export const TopUpSchema = z
  .object({
    id: uuid('01968a3c-5b2e-7c4d-9e8f-0a1b2c3d4e5f').openapi({ description: "The top-up's id: the orderId at the payment provider." }),
    status: z.enum(TOP_UP_STATUSES).openapi({ description: TOP_UP_STATES_TEXT, example: 'succeeded' }),
    amount: z.number().int().openapi({ description: 'KRW to credit, exactly what the payment must capture.', example: 20000 }),
    demo: z.boolean().openapi({
      description:
        'True when the service runs without a payment provider (development only): the top-up was credited at once, with no payment behind it.',
      example: false,
    }),
    payment_key: z
      .string()
      .nullable()
      .openapi({ description: "The provider's payment key it was confirmed with; null before.", example: 'pay_5EnNZRJGvaBX7zYQ' }),
    failure: z
      .object({
        code: z.string().openapi({
          description:
            `The provider's reason from its answer to the confirm; its payment status (${UNCAPTURED_END_STATUSES.map((s) => `\`${s}\``).join(', ')}) ` +
            'when that is all we were told; or `amount_mismatch`.',
          example: 'REJECT_CARD_PAYMENT',
        }),
        message: z.string().openapi({ example: 'The card issuer declined the payment.' }),
      })
      .nullable()
      .openapi({ description: 'Why it failed; null unless `failed`.' }),
    credit: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'The wallet balance right after this top-up was credited; null until `succeeded`.', example: 70000 }),
    entry: LedgerEntrySchema.nullable().openapi({ description: 'The ledger row that credited it; null until `succeeded`.' }),
    created_at: dateTime(),
    updated_at: dateTime(),
    settled_at: dateTime().nullable().openapi({ description: 'When it became `succeeded` or `failed`; null before.' }),
  })
  .openapi('TopUp', { description: `Money in through the payment provider. ${TOP_UP_STATES_TEXT}` });

const OVER_CAP =
  "`balance_limit_exceeded`: the top-up would take the balance past the wallet's cap " +
  `(${DEFAULTS.WALLET_BALANCE_CAP_KRW.toLocaleString('en-US')} KRW by default, \`WALLET_BALANCE_CAP_KRW\`; refunds are never capped).`;

export const TopUpInput = z
  .strictObject({
    amount: z
      .number()
      .int()
      .min(1)
      .max(TOP_UP_MAX_KRW)
      .openapi({ description: `KRW, 1 to ${TOP_UP_MAX_KRW}.`, example: 20000 }),
  })
  .openapi('TopUpInput', { description: 'How much credit to buy.' });

export const ConfirmTopUpInput = z
  .strictObject({
    payment_key: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[\x21-\x7e]+$/, 'must be visible ASCII')
      .openapi({ description: 'The payment key the provider gave the client when it paid.', example: 'pay_5EnNZRJGvaBX7zYQ' }),
  })
  .openapi('ConfirmTopUpInput', { description: 'The payment to confirm this top-up with.' });

const TopUpPageSchema = z
  .object({ items: z.array(TopUpSchema), next_cursor: NextCursor })
  .openapi('TopUpPage', { description: 'A page of top-ups, newest first.' });

const topUpParam = UuidParam('topUpId', "The top-up's id.");

export const createTopUpRoute = createRoute({
  method: 'post',
  path: '/users/me/credit/top-ups',
  operationId: 'topUpCredit',
  tags: ['users'],
  summary: 'Start a top-up',
  description:
    'Makes a top-up `awaiting_payment`: nothing is credited until the payment provider captures the payment and the top-up is ' +
    'confirmed. Without a payment provider (development only) the top-up is credited at once and says so (`demo: true`, ' +
    '`status: succeeded`).',
  security,
  parameters: [params.idempotencyKeyRequired],
  request: { body: { required: true, content: { 'application/json': { schema: TopUpInput } } } },
  responses: {
    201: jsonResponse('Made (or the replay of an earlier top-up with this Idempotency-Key).', TopUpSchema, {
      ...headers.location,
      ...headers.replayed,
    }),
    ...withCodes(actionProblems(400, 401, 409, 413, 415, 422), { 422: `${OVER_CAP} Nothing was charged or credited.` }),
  },
});

export const confirmTopUpRoute = createRoute({
  method: 'post',
  path: '/users/me/credit/top-ups/{topUpId}/confirm',
  operationId: 'confirmTopUp',
  tags: ['users'],
  summary: 'Confirm a top-up with its payment',
  description:
    'Asks the payment provider to capture the payment for exactly the top-up amount. 200 `succeeded`: captured, the wallet ' +
    "credited exactly once. 402 `payment_declined`: nothing captured, nothing credited. 202 `processing`: the provider's " +
    'answer is not known (slow, unreachable, failing); the top-up is settled later by the service (asking the provider, or ' +
    "on the provider's notification), never twice: poll GET or confirm again. Final answers (200, 402, 404, 409) are stored " +
    'with the Idempotency-Key and replayed; a 202 is not, so a retry with the same key asks again. Confirming a top-up ' +
    'already settled answers how it settled.',
  security,
  parameters: [params.idempotencyKeyRequired],
  request: { params: topUpParam, body: { required: true, content: { 'application/json': { schema: ConfirmTopUpInput } } } },
  responses: {
    200: jsonResponse('Succeeded: the wallet is credited (or the replay of that answer).', TopUpSchema, headers.replayed),
    202: jsonResponse("Processing: the provider's answer is not known yet; nothing credited so far.", TopUpSchema),
    ...withCodes(actionProblems(400, 401, 402, 404, 409, 413, 415, 422), {
      422: `${OVER_CAP} Checked before the provider is asked to capture; money it captured is always credited.`,
    }),
  },
});

export const getTopUpRoute = createRoute({
  method: 'get',
  path: '/users/me/credit/top-ups/{topUpId}',
  operationId: 'getTopUp',
  tags: ['users'],
  summary: 'Where a top-up stands',
  security,
  request: { params: topUpParam },
  responses: {
    200: jsonResponse('The top-up.', TopUpSchema),
    ...problems(401, 404),
  },
});

export const listTopUpsRoute = createRoute({
  method: 'get',
  path: '/users/me/credit/top-ups',
  operationId: 'listMyTopUps',
  tags: ['users'],
  summary: 'Your top-ups, newest first',
  security,
  request: { query: PaginationQuery },
  responses: {
    200: jsonResponse('A page of top-ups.', TopUpPageSchema),
    ...problems(400, 401),
  },
});

export const PaymentWebhookSchema = z
  .object({
    eventType: z
      .string()
      .openapi({ description: 'Only `PAYMENT_STATUS_CHANGED` is acted on; others are acknowledged.', example: 'PAYMENT_STATUS_CHANGED' }),
    data: z.object({
      paymentKey: z.string().min(1).max(200).openapi({ example: 'pay_5EnNZRJGvaBX7zYQ' }),
      orderId: z.string().min(1).max(64).openapi({ description: 'The top-up id.', example: '01968a3c-5b2e-7c4d-9e8f-0a1b2c3d4e5f' }),
      status: z.enum(PROVIDER_PAYMENT_STATUSES).openapi({ example: 'DONE' }),
      totalAmount: z.number().int().openapi({ example: 20000 }),
    }),
  })
  .openapi('PaymentWebhookEvent', { description: "The payment provider's notice that a payment changed." });

export const paymentWebhookRoute = createRoute({
  method: 'post',
  path: '/webhooks/payments',
  operationId: 'receivePaymentWebhook',
  tags: ['payments'],
  summary: 'The payment provider tells us a payment changed',
  description:
    'Called by the payment provider, not by clients. Verified by `X-Payment-Signature` (HMAC-SHA256 of the raw body with the ' +
    'webhook secret); a missing or wrong signature is 401 and changes nothing. DONE settles the top-up and credits it once; ' +
    `${UNCAPTURED_END_STATUSES.join(' or ')} fails it; anything else, a repeat, or an order we do not know is acknowledged and changes nothing. ` +
    'It may arrive before, during or after the client confirms, any number of times.',
  security: [],
  request: {
    headers: z.object({
      'X-Payment-Signature': z.string().openapi({
        description: '`sha256=` and the lower-case hex HMAC-SHA256 of the raw body.',
        example: 'sha256=5d41402abc4b2a76b9719d911017c592',
      }),
    }),
    body: { required: true, content: { 'application/json': { schema: PaymentWebhookSchema } } },
  },
  responses: {
    200: jsonResponse(
      'Received (and acted on, if it changed anything).',
      z.object({ received: z.literal(true).openapi({ example: true }) }).openapi('WebhookReceipt', { description: 'Acknowledged.' }),
    ),
    ...problems(400, 401, 413, 415),
  },
});
