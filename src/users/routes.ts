import { createRoute, z } from '@hono/zod-openapi';
import { LEDGER_KINDS } from '../domain/kinds.js';
import { TEXT_RULE } from '../domain/text.js';
import {
  NextCursor,
  PaginationQuery,
  plainText,
  dateTime,
  headers,
  jsonResponse,
  notModifiedResponse,
  params,
  problems,
  security,
  uuid,
} from '../http/openapi.js';

export const UserSchema = z
  .object({
    id: uuid('3b8f0c52-7d4e-4f1a-9c2b-5e6d7f8a9b0c'),
    email: z.string().email().nullable().openapi({
      description: 'Null for a person whose identity provider gave no verified email.',
      example: 'minji@example.com',
    }),
    name: z.string().openapi({ example: '김민지' }),
    credit: z.number().int().openapi({ description: 'Balance in KRW: always the sum of the ledger.', example: 50000 }),
    address: z.string().nullable().openapi({ example: '전북 전주시 덕진구 백제대로 567' }),
    lat: z.number().nullable().openapi({ example: 35.8468 }),
    lon: z.number().nullable().openapi({ example: 127.1297 }),
  })
  .openapi('User', { description: 'A user with their wallet balance and saved delivery address.' });

export const LedgerEntrySchema = z
  .object({
    id: z.number().int().openapi({ example: 42 }),
    kind: z.enum(LEDGER_KINDS).openapi({ example: 'order_charge' }),
    amount: z.number().int().openapi({ description: 'Signed KRW: negative for charges.', example: -9000 }),
    balance_after: z.number().int().openapi({ example: 41000 }),
    order_id: uuid().nullable().openapi({ description: 'The order a charge or refund belongs to.' }),
    created_at: dateTime(),
  })
  .openapi('LedgerEntry', { description: 'One append-only movement of a wallet.' });

export const AddressInput = z
  .strictObject({
    address: plainText(300).openapi({
      description: `Street address, shown to the order's participants. Plain text: ${TEXT_RULE}; spaces are collapsed and trimmed.`,
      example: '전북 전주시 덕진구 백제대로 567',
    }),
    lat: z.number().min(-90).max(90).openapi({ example: 35.8468 }),
    lon: z.number().min(-180).max(180).openapi({ example: 127.1297 }),
  })
  .openapi('AddressInput', { description: 'A delivery address with its coordinates (WGS 84).' });

export const LedgerPageSchema = z
  .object({ items: z.array(LedgerEntrySchema), next_cursor: NextCursor })
  .openapi('LedgerPage', { description: 'A page of ledger entries, newest first.' });

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
    200: jsonResponse('The user.', UserSchema, headers.etag),
    304: notModifiedResponse,
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
    200: jsonResponse('The updated user.', UserSchema, headers.etag),
    ...problems(400, 401, 409, 412, 413, 415, 428),
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
    200: jsonResponse('A page of ledger entries.', LedgerPageSchema),
    ...problems(400, 401),
  },
});
