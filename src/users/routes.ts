import { createRoute, z } from '@hono/zod-openapi';
import { TOP_UP_MAX_KRW } from '../domain/limits.js';
import {
  NextCursor, PaginationQuery, etagHeader, params, problems, replayHeaders, security,
} from '../http/openapi.js';

export const UserSchema = z
  .object({
    id: z.string().uuid(),
    email: z.string().email().openapi({ example: 'minji@example.com' }),
    name: z.string().openapi({ example: '김민지' }),
    credit: z.number().int().openapi({ description: 'Balance in KRW: always the sum of the ledger.', example: 50000 }),
    address: z.string().nullable().openapi({ example: '전북 전주시 덕진구 백제대로 567' }),
    lat: z.number().nullable().openapi({ example: 35.8468 }),
    lon: z.number().nullable().openapi({ example: 127.1297 }),
  })
  .openapi('User');

export const LedgerEntrySchema = z
  .object({
    id: z.number().int(),
    kind: z.enum(['signup_grant', 'top_up', 'order_charge', 'order_refund']),
    amount: z.number().int().openapi({ description: 'Signed KRW: negative for charges.', example: -9000 }),
    balance_after: z.number().int().openapi({ example: 41000 }),
    order_id: z.string().uuid().nullable(),
    created_at: z.string().datetime(),
  })
  .openapi('LedgerEntry');

export const AddressInput = z
  .strictObject({
    address: z.string().trim().min(1).max(300).openapi({ example: '전북 전주시 덕진구 백제대로 567' }),
    lat: z.number().min(-90).max(90).openapi({ example: 35.8468 }),
    lon: z.number().min(-180).max(180).openapi({ example: 127.1297 }),
  })
  .openapi('AddressInput');

export const TopUpInput = z
  .strictObject({
    amount: z.number().int().min(1).max(TOP_UP_MAX_KRW).openapi({ description: `KRW, 1 to ${TOP_UP_MAX_KRW}.`, example: 20000 }),
  })
  .openapi('TopUpInput');

export const TopUpResultSchema = z
  .object({
    credit: z.number().int().openapi({ description: 'The new balance.', example: 70000 }),
    entry: LedgerEntrySchema,
  })
  .openapi('TopUpResult');

export const LedgerPageSchema = z.object({ items: z.array(LedgerEntrySchema), next_cursor: NextCursor }).openapi('LedgerPage');

export const getMeRoute = createRoute({
  method: 'get',
  path: '/users/me',
  operationId: 'getMe',
  tags: ['users'],
  summary: 'The signed-in user',
  description: 'Profile, balance and saved delivery address, with the ETag that PUT /users/me/address needs.',
  security,
  parameters: [params.ifNoneMatch],
  responses: {
    200: { description: 'The user.', headers: etagHeader, content: { 'application/json': { schema: UserSchema } } },
    304: { description: 'Unchanged since the ETag in If-None-Match.', headers: etagHeader },
    ...problems(401),
  },
});

export const putAddressRoute = createRoute({
  method: 'put',
  path: '/users/me/address',
  operationId: 'putMyAddress',
  tags: ['users'],
  summary: 'Save the default delivery address',
  description: 'Replaces the saved address (used when an order gives none). Needs If-Match with the user ETag.',
  security,
  parameters: [params.ifMatch],
  request: { body: { required: true, content: { 'application/json': { schema: AddressInput } } } },
  responses: {
    200: { description: 'The updated user.', headers: etagHeader, content: { 'application/json': { schema: UserSchema } } },
    ...problems(400, 401, 412, 413, 415, 428),
  },
});

export const topUpRoute = createRoute({
  method: 'post',
  path: '/users/me/credit/top-ups',
  operationId: 'topUpCredit',
  tags: ['users'],
  summary: 'Add credit',
  description: 'Adds credit to the wallet: the balance and its ledger row change in one transaction.',
  security,
  parameters: [params.idempotencyKeyRequired],
  request: { body: { required: true, content: { 'application/json': { schema: TopUpInput } } } },
  responses: {
    201: {
      description: 'Credited.',
      headers: replayHeaders,
      content: { 'application/json': { schema: TopUpResultSchema } },
    },
    ...problems(400, 401, 409, 413, 415, 422),
  },
});

export const getLedgerRoute = createRoute({
  method: 'get',
  path: '/users/me/ledger',
  operationId: 'listMyLedger',
  tags: ['users'],
  summary: 'Credit movements, newest first',
  description: 'Every movement of the wallet; the balance equals the sum of all of them.',
  security,
  request: { query: PaginationQuery },
  responses: {
    200: { description: 'A page of ledger entries.', content: { 'application/json': { schema: LedgerPageSchema } } },
    ...problems(400, 401),
  },
});
