import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { ERROR_CODES } from '../domain/errors.js';
import { PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX } from '../domain/limits.js';
import type { AppEnv } from './env.js';
import { PROBLEM_TYPE_BASE } from './problem.js';

/** Shared OpenAPI pieces: the Problem schema, headers, parameters and the error responses. */

export const ProblemSchema = z
  .object({
    type: z.string().url().openapi({ example: `${PROBLEM_TYPE_BASE}insufficient_credit` }),
    title: z.string().openapi({ example: 'Not enough credit' }),
    status: z.number().int().openapi({ example: 402 }),
    detail: z.string().openapi({ example: 'This order costs 12,000 KRW; your balance is 3,000 KRW.' }),
    instance: z.string().openapi({ example: '/orders' }),
    code: z.enum(ERROR_CODES).openapi({ example: 'insufficient_credit' }),
    request_id: z.string().openapi({ example: '0b6f3c9e-5d1a-4d8e-9d0a-3f0f5f1b2c3d' }),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }).openapi('ValidationIssue'))
      .optional()
      .openapi({ description: 'Present on validation failures: one entry per invalid field.' }),
    current: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: 'Present on 412: the current representation of the resource.' }),
  })
  .openapi('Problem', { description: 'An RFC 9457 problem; `type` is stable per `code`.' });

const STATUS_TEXT: Record<number, string> = {
  400: 'Malformed JSON, or a body, query, path or header value that violates the schema.',
  401: 'No bearer token, or one that is invalid or expired.',
  402: 'Not enough credit for this payment; nothing was charged.',
  403: 'Authenticated, but not allowed to act on this resource.',
  404: 'No resource with this id.',
  409: 'The action is not allowed in the current state, or a concurrent request holds the resource (then with Retry-After).',
  412: 'If-Match does not match the current version; the body carries the current representation and the ETag header its tag.',
  413: 'The request body exceeds 64 KiB.',
  415: 'The request body is not application/json.',
  422: 'The request is well-formed but cannot be carried out (see `code`).',
  428: 'The action requires If-Match.',
  503: 'The database is unavailable; retry after Retry-After seconds.',
};

const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });

/** Error responses of an operation, all problem+json; every operation may also answer 503. */
export function problems(...statuses: number[]) {
  const responses: Record<number, { description: string; content: object; headers?: object }> = {};
  for (const status of [...statuses, 503]) {
    const headers: Record<string, object> = {};
    if (status === 409 || status === 503) headers['Retry-After'] = headerRef('RetryAfter');
    if (status === 412) headers['ETag'] = headerRef('ETag');
    responses[status] = {
      description: STATUS_TEXT[status] ?? 'Error',
      content: { 'application/problem+json': { schema: ProblemSchema } },
      ...(Object.keys(headers).length ? { headers } : {}),
    };
  }
  return responses;
}

export const etagHeader = { ETag: headerRef('ETag') };
export const replayHeaders = { 'Idempotent-Replayed': headerRef('IdempotentReplayed') };

const paramRef = (name: string) => ({ $ref: `#/components/parameters/${name}` });
export const params = {
  ifMatch: paramRef('IfMatch'),
  ifNoneMatch: paramRef('IfNoneMatch'),
  idempotencyKeyRequired: paramRef('IdempotencyKeyRequired'),
  idempotencyKeyOptional: paramRef('IdempotencyKeyOptional'),
};

export const security = [{ bearerAuth: [] }];

export const PaginationQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(PAGE_SIZE_MAX)
    .default(PAGE_SIZE_DEFAULT)
    .openapi({ description: `Page size (default ${PAGE_SIZE_DEFAULT}, max ${PAGE_SIZE_MAX}).` }),
  cursor: z
    .string()
    .max(512)
    .optional()
    .openapi({ description: 'Opaque cursor from the previous page\'s `next_cursor`.' }),
});

export const NextCursor = z
  .string()
  .nullable()
  .openapi({ description: 'Pass as `cursor` to get the next page; null on the last page.' });

export const UuidParam = (name: string) =>
  z.object({ [name]: z.string().uuid().openapi({ param: { name, in: 'path' }, example: '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f' }) });

export function registerComponents(app: OpenAPIHono<AppEnv>, idempotencyRetentionHours: number): void {
  const registry = app.openAPIRegistry;
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A token from POST /auth/dev/token (development) — HS256 JWT, valid for one hour.',
  });
  const idempotencyText =
    'Makes a retry safe: the first request with a key runs and its response (status, body, ETag, Location) ' +
    'is stored in the same transaction as its effect; a retry with the same key and the same request gets ' +
    'that response again with `Idempotent-Replayed: true`, a retry with a different request gets 422, and a ' +
    'retry that arrives while the first is still running waits for it (409 with Retry-After if it cannot ' +
    `finish in time). 1–255 printable ASCII characters, scoped to the caller. Keys are kept ${idempotencyRetentionHours} h, ` +
    'then purged: a key reused after that runs as a new request.';
  registry.registerComponent('parameters', 'IdempotencyKeyRequired', {
    name: 'Idempotency-Key',
    in: 'header',
    required: true,
    description: `${idempotencyText} Missing → 400.`,
    schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7E]+$' },
    example: '2f9d6c1e-order-42',
  });
  registry.registerComponent('parameters', 'IdempotencyKeyOptional', {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description: idempotencyText,
    schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7E]+$' },
    example: '2f9d6c1e-complete-42',
  });
  registry.registerComponent('parameters', 'IfMatch', {
    name: 'If-Match',
    in: 'header',
    required: true,
    description: 'The ETag of the version the client decided on, or `*` for any. Missing → 428; stale → 412.',
    schema: { type: 'string', minLength: 1, maxLength: 512 },
    example: '"v1"',
  });
  registry.registerComponent('parameters', 'IfNoneMatch', {
    name: 'If-None-Match',
    in: 'header',
    required: false,
    description: 'An ETag the client holds; if it is still current the answer is 304 with no body.',
    schema: { type: 'string', maxLength: 512 },
    example: '"v1"',
  });
  registry.registerComponent('headers', 'ETag', {
    description: 'Strong entity tag of the current version of the resource.',
    schema: { type: 'string', example: '"v2"' },
  });
  registry.registerComponent('headers', 'Location', {
    description: 'URL of the created resource.',
    schema: { type: 'string', example: '/orders/6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f' },
  });
  registry.registerComponent('headers', 'IdempotentReplayed', {
    description: '`true` when this response is the stored answer to an earlier request with the same Idempotency-Key.',
    schema: { type: 'string', enum: ['true'] },
  });
  registry.registerComponent('headers', 'RetryAfter', {
    description: 'Seconds to wait before retrying.',
    schema: { type: 'integer', minimum: 0, example: 1 },
  });
  registry.registerComponent('headers', 'XRequestId', {
    description: 'The request id (the incoming X-Request-Id when valid, else generated); also in every problem body and log line.',
    schema: { type: 'string' },
  });
}
