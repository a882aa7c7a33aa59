import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { DEFAULTS } from '../config.js';
import { ERROR_CODES, type ErrorCode } from '../domain/errors.js';
import { IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_RULE } from '../domain/idempotency-key.js';
import { PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX } from '../domain/limits.js';
import { TEXT_RULE, isPlainText, normaliseText } from '../domain/text.js';
import type { AppEnv } from './env.js';
import { MAX_CONDITION_LENGTH } from './etag.js';
import { PROBLEMS, PROBLEM_TYPE_BASE } from './problem.js';

/**
 * Shared OpenAPI pieces: the Problem schema, the header and parameter components, and the helpers
 * every route contract builds its responses with, so that each response documents the headers the
 * server really sends (X-Request-Id on all of them) and each error is the one Problem schema.
 */

export const EXAMPLE_UUID = '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f';
export const EXAMPLE_TIME = '2025-05-01T12:00:00.000Z';

/**
 * A name or address as stored and shown to others: plain text only (refused otherwise, with the
 * rule in the message), normalised before its length is checked.
 */
export const plainText = (maxLength: number) =>
  z.string().refine(isPlainText, `must contain ${TEXT_RULE}`).overwrite(normaliseText).min(1).max(maxLength);

/** A UUID field with an example; `example` tells which kind of id it is in the docs. */
export const uuid = (example: string = EXAMPLE_UUID) => z.string().uuid().openapi({ example });
/** An RFC 3339 timestamp (UTC, milliseconds). */
export const dateTime = (example: string = EXAMPLE_TIME) => z.string().datetime().openapi({ example });

export const ValidationIssueSchema = z
  .object({
    path: z
      .string()
      .openapi({ description: 'Where: `body.`, `query.`, `path.` or `header.` and the field.', example: 'body.items.0.quantity' }),
    message: z.string().openapi({ example: 'Too big: expected number to be <=99' }),
  })
  .openapi('ValidationIssue', { description: 'One invalid field of a 400 validation_failed.' });

export const ProblemSchema = z
  .object({
    type: z
      .string()
      .url()
      .openapi({ example: `${PROBLEM_TYPE_BASE}insufficient_credit` }),
    title: z.string().openapi({ example: 'Not enough credit' }),
    status: z.number().int().openapi({ example: 402 }),
    detail: z.string().openapi({ example: 'Your share is 13000 KRW, more than your balance. Top up and try again.' }),
    instance: z.string().openapi({ description: 'The request path.', example: '/orders' }),
    code: z
      .enum(ERROR_CODES)
      .openapi({ description: 'Stable machine-readable code; `type` is derived from it.', example: 'insufficient_credit' }),
    request_id: z.string().openapi({
      description:
        'The id of the request that produced this problem: the X-Request-Id response header, except on a replay ' +
        '(`Idempotent-Replayed: true`), whose stored body keeps the id of the original request.',
      example: '0b6f3c9e-5d1a-4d8e-9d0a-3f0f5f1b2c3d',
    }),
    errors: z
      .array(ValidationIssueSchema)
      .optional()
      .openapi({ description: 'Present on validation failures (400 validation_failed): one entry per invalid field.' }),
    current: z.record(z.string(), z.unknown()).optional().openapi({
      description:
        'Present on 412: the current representation of the resource as the caller may see it (an Order, a PublicOrder or a User), so the client can decide again without another GET.',
    }),
  })
  .openapi('Problem', {
    description: 'An RFC 9457 problem. `type` is stable per `code`; see the table in the API description.',
    example: {
      type: `${PROBLEM_TYPE_BASE}insufficient_credit`,
      title: 'Not enough credit',
      status: 402,
      detail: 'Your share is 13000 KRW, more than your balance. Top up and try again.',
      instance: '/orders',
      code: 'insufficient_credit',
      request_id: '0b6f3c9e-5d1a-4d8e-9d0a-3f0f5f1b2c3d',
    },
  });

const STATUS_TEXT: Record<number, string> = {
  400: 'Malformed JSON, a body, query, path or header value that violates the schema (`errors[]` names each field), a string with NUL, a cursor this API did not issue, an If-Match tag that could never match, or a body sent where none is taken.',
  401: 'No bearer token, or one that is invalid or expired.',
  402: 'Not enough credit for this payment (nothing was charged), or the payment provider declined a top-up (nothing was credited).',
  403: 'Authenticated, but not allowed to act on this resource.',
  404: 'No resource with this id.',
  409: 'The action is not allowed in the current state, or a concurrent request holds the resource (then with Retry-After).',
  412: 'If-Match does not match the current version; the body carries the current representation in `current` and the ETag header its tag.',
  413: 'The request body is too large.',
  415: 'The request body is not application/json.',
  422: 'The request is well-formed but cannot be carried out (see `code`).',
  428: 'The action requires If-Match.',
  429: "Past the rate limit of this operation's class (see RateLimit-Policy); retry after Retry-After seconds, no earlier than the window resets.",
  500: 'An unexpected failure; nothing was changed (with an Idempotency-Key, nothing was stored either), so a retry is safe.',
  503: '`database_unavailable` (the database cannot be reached) or `overloaded` (every database connection is busy); retry after Retry-After seconds.',
};

// A typical problem per status, shown as the example of each error response.
const EXAMPLE_PROBLEM: Record<number, { code: ErrorCode; detail: string; extra?: object }> = {
  429: { code: 'rate_limited', detail: 'Too many money requests: at most 30 in 60 s. Retry after 41 s.' },
  400: {
    code: 'validation_failed',
    detail: 'body.items.0.quantity: Too big: expected number to be <=99',
    extra: { errors: [{ path: 'body.items.0.quantity', message: 'Too big: expected number to be <=99' }] },
  },
  401: { code: 'unauthorized', detail: 'Send Authorization: Bearer <token>.' },
  402: { code: 'insufficient_credit', detail: 'Your share is 13000 KRW, more than your balance. Top up and try again.' },
  403: { code: 'forbidden', detail: 'Only the creator may cancel an order.' },
  404: { code: 'not_found', detail: `No order ${EXAMPLE_UUID}.` },
  409: { code: 'order_not_pending', detail: 'The order is matched, not pending.' },
  412: {
    code: 'precondition_failed',
    detail: 'The order is at "v2"; re-read it and decide again.',
    extra: { current: { id: EXAMPLE_UUID, status: 'matched', version: 2 } },
  },
  413: { code: 'payload_too_large', detail: 'The request body exceeds 65536 bytes.' },
  415: { code: 'unsupported_media_type', detail: 'Content-Type must be application/json, not "text/plain".' },
  422: { code: 'own_order', detail: 'You cannot join your own order.' },
  428: { code: 'precondition_required', detail: 'Send If-Match with the ETag of the version you read.' },
  500: { code: 'internal_error', detail: 'An unexpected error occurred.' },
  503: { code: 'database_unavailable', detail: 'The database is unavailable; retry shortly.' },
};

function exampleProblem(status: number) {
  const { code, detail, extra } = EXAMPLE_PROBLEM[status];
  return {
    type: `${PROBLEM_TYPE_BASE}${code}`,
    title: PROBLEMS[code].title,
    status,
    detail,
    instance: '/orders',
    code,
    request_id: '0b6f3c9e-5d1a-4d8e-9d0a-3f0f5f1b2c3d',
    ...extra,
  };
}

const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });

/** Response headers, as references to the header components registered below. */
export const headers = {
  requestId: { 'X-Request-Id': headerRef('XRequestId') },
  etag: { ETag: headerRef('ETag') },
  pageEtag: { ETag: headerRef('PageETag') },
  location: { Location: headerRef('Location') },
  redirect: { Location: headerRef('RedirectLocation') },
  replayed: { 'Idempotent-Replayed': headerRef('IdempotentReplayed') },
  retryAfter: { 'Retry-After': headerRef('RetryAfter') },
  rateLimit: { 'RateLimit-Policy': headerRef('RateLimitPolicy'), RateLimit: headerRef('RateLimit') },
};

/** The 429 of a rate-limited operation (added to each one by the route registry). */
export function rateLimitedResponse() {
  return {
    description: STATUS_TEXT[429],
    headers: { ...headers.retryAfter, ...headers.rateLimit, ...headers.requestId },
    content: { 'application/problem+json': { schema: ProblemSchema, example: exampleProblem(429) } },
  };
}

type HeaderRefs = Record<string, { $ref: string }>;

/** A JSON success response; every response carries X-Request-Id. */
export function jsonResponse<S extends z.ZodType>(description: string, schema: S, extra: HeaderRefs = {}) {
  return {
    description,
    headers: { ...extra, ...headers.requestId },
    content: { 'application/json': { schema } },
  };
}

/** A success response without a body (204, 304). */
export function emptyResponse(description: string, extra: HeaderRefs = {}) {
  return { description, headers: { ...extra, ...headers.requestId } };
}

/** The 304 of a conditional GET: no body, the current ETag. */
export const notModifiedResponse = emptyResponse('Unchanged since the ETag in If-None-Match: no body.', headers.etag);
/** The 304 of a polled list page. */
export const pageNotModifiedResponse = emptyResponse('The page is unchanged since the ETag in If-None-Match: no body.', headers.pageEtag);

// Errors an idempotent action stores with its key and replays (with Idempotent-Replayed: true).
// Validation, auth, 413/415/428 happen before the key is looked at; 5xx and busy-409s are never stored.
const REPLAYABLE = new Set([402, 403, 404, 409, 412, 422]);

function problemResponses(statuses: number[], options: { replayable: boolean; database: boolean }) {
  const responses: Record<
    number,
    { description: string; headers: HeaderRefs; content: { 'application/problem+json': { schema: typeof ProblemSchema; example: object } } }
  > = {};
  // Any request may be refused as a 400: one the HTTP layer cannot parse, or NUL in its query.
  const all = [...new Set([400, ...statuses])].sort((a, b) => a - b).concat(500, options.database ? [503] : []);
  for (const status of all) {
    const extra: HeaderRefs = {};
    if (status === 409 || status === 503) Object.assign(extra, headers.retryAfter);
    if (status === 412) Object.assign(extra, headers.etag);
    if (options.replayable && REPLAYABLE.has(status)) Object.assign(extra, headers.replayed);
    responses[status] = {
      description: STATUS_TEXT[status] ?? 'Error',
      headers: { ...extra, ...headers.requestId },
      content: { 'application/problem+json': { schema: ProblemSchema, example: exampleProblem(status) } },
    };
  }
  return responses;
}

/** Error responses of an operation, all problem+json; every operation may also answer 500 and 503. */
export function problems(...statuses: number[]) {
  return problemResponses(statuses, { replayable: false, database: true });
}

/** Error responses of an Idempotency-Key action: the stored outcomes may come back as replays. */
export function actionProblems(...statuses: number[]) {
  return problemResponses(statuses, { replayable: true, database: true });
}

/** Error responses of an operation that never touches the database (only 500 besides `statuses`). */
export function problemsWithoutDatabase(...statuses: number[]) {
  return problemResponses(statuses, { replayable: false, database: false });
}

/**
 * Error responses with the codes an operation may answer under a status named in their
 * descriptions (each status's general text, then `codes`), e.g. a quota's 409 or 422.
 */
export function withCodes<R extends Record<number, { description: string }>>(responses: R, codes: Record<number, string>): R {
  const described: Record<number, { description: string }> = { ...responses };
  for (const [status, text] of Object.entries(codes)) {
    const response = described[Number(status)];
    if (!response) throw new Error(`withCodes: no ${status} response to describe`);
    described[Number(status)] = { ...response, description: `${response.description} ${text}` };
  }
  return described as R;
}

const paramRef = (name: string) => ({ $ref: `#/components/parameters/${name}` });
export const params = {
  ifMatch: paramRef('IfMatch'),
  ifNoneMatch: paramRef('IfNoneMatch'),
  idempotencyKeyRequired: paramRef('IdempotencyKeyRequired'),
  idempotencyKeyOptional: paramRef('IdempotencyKeyOptional'),
};

/** Operations that need the bearer token; public ones say `security: []`. */
export const security = [{ bearerAuth: [] }];
/** The event streams: the bearer token, or (for a browser's EventSource, which sends no headers) a ticket. */
export const streamSecurity: Record<string, string[]>[] = [{ bearerAuth: [] }, { eventTicket: [] }];

// Query and path numbers as JSON writes them; counts and ids as plain digits. Number() alone would
// read '' as 0 (the equator, for a latitude), '0x10' as 16 and ' +1 ' as 1.
const DECIMAL_INTEGER = /^(0|[1-9]\d*)$/;
const DECIMAL_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const decimal = (pattern: RegExp) => (value: unknown) => (typeof value === 'string' && pattern.test(value) ? Number(value) : value);

/** A non-negative integer in a query or path (documented as an integer). */
export const decimalInteger = <S extends z.ZodType>(schema: S) => z.preprocess(decimal(DECIMAL_INTEGER), schema);
/** A number in a query, in JSON's syntax (documented as a number). */
export const decimalNumber = <S extends z.ZodType>(schema: S) => z.preprocess(decimal(DECIMAL_NUMBER), schema);

export const PaginationQuery = z.object({
  limit: decimalInteger(z.number().int().min(1).max(PAGE_SIZE_MAX).default(PAGE_SIZE_DEFAULT)).openapi({
    description: `Page size (default ${PAGE_SIZE_DEFAULT}, max ${PAGE_SIZE_MAX}).`,
    example: PAGE_SIZE_DEFAULT,
  }),
  cursor: z.string().max(512).optional().openapi({
    description: "The previous page's `next_cursor`, as it came: sealed by the server, so one it did not issue is a 400.",
    example: 'q1l0c3Vz2XJzb3JfZXhhbXBsZV9zZWFsZWQ',
  }),
});

export const NextCursor = z.string().nullable().openapi({
  description: 'Pass as `cursor` to get the next page; null on the last page.',
  example: 'q1l0c3Vz2XJzb3JfZXhhbXBsZV9zZWFsZWQ',
});

export const UuidParam = (name: string, description: string) =>
  z.object({
    [name]: z
      .string()
      .uuid()
      .openapi({ param: { name, in: 'path', description }, example: EXAMPLE_UUID }),
  });

export function registerComponents(app: OpenAPIHono<AppEnv>, idempotencyRetentionHours: number): void {
  const registry = app.openAPIRegistry;
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'The `access_token` of a session (from a sign-in through an identity provider, `POST /auth/refresh`, or the development ' +
      `login): an ES256 JWT, valid for ${DEFAULTS.ACCESS_TOKEN_TTL_SECONDS} seconds by default (its \`expires_in\` says how long). ` +
      'The scheme name is case-insensitive. Refused with 401: `unauthorized` (none or not a token), `token_invalid`, ' +
      '`token_expired`, `session_revoked` (signed out or revoked).',
  });
  registry.registerComponent('securitySchemes', 'eventTicket', {
    type: 'apiKey',
    in: 'query',
    name: 'ticket',
    description:
      "For the event streams only, when the client cannot send headers (a browser's EventSource): a ticket from " +
      '`POST /users/me/events/tickets`, good for one stream opened within a minute. Never put an access token in a URL. ' +
      'Refused with 401 `ticket_invalid` (unknown, used, expired, or its session revoked).',
  });
  registry.registerComponent('securitySchemes', 'metricsToken', {
    type: 'http',
    scheme: 'bearer',
    description: "The operator's METRICS_TOKEN, for GET /metrics only.",
  });
  const idempotencyText =
    'Makes a retry safe: the first request with a key runs and its response (status, body, ETag, Location) ' +
    'is stored in the same transaction as its effect; a retry with the same key and the same request gets ' +
    'that response again with `Idempotent-Replayed: true`, a retry with a different request gets 422, and a ' +
    'retry that arrives while the first is still running waits for it (409 with Retry-After if it cannot ' +
    `finish in time). ${IDEMPOTENCY_KEY_RULE}, scoped to the caller. Keys are kept ${idempotencyRetentionHours} h ` +
    `(a server setting, ${DEFAULTS.IDEMPOTENCY_RETENTION_HOURS} h by default), then purged: a key reused after that runs as a new request.`;
  const keySchema = { type: 'string' as const, ...IDEMPOTENCY_KEY };
  registry.registerComponent('parameters', 'IdempotencyKeyRequired', {
    name: 'Idempotency-Key',
    in: 'header',
    required: true,
    description: `${idempotencyText} Missing → 400.`,
    schema: keySchema,
    example: '2f9d6c1e-order-42',
  });
  registry.registerComponent('parameters', 'IdempotencyKeyOptional', {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description: `Optional here (the action moves no money from the caller). ${idempotencyText}`,
    schema: keySchema,
    example: '2f9d6c1e-complete-42',
  });
  registry.registerComponent('parameters', 'IfMatch', {
    name: 'If-Match',
    in: 'header',
    required: true,
    description:
      'The ETag of the version the client decided on (strong, as this API issued it), or `*` for any. Missing → 428; stale → 412; ' +
      'a tag that could never match (not an entity tag, or a version out of range) → 400.',
    schema: { type: 'string', minLength: 1, maxLength: MAX_CONDITION_LENGTH },
    example: '"v1"',
  });
  registry.registerComponent('parameters', 'IfNoneMatch', {
    name: 'If-None-Match',
    in: 'header',
    required: false,
    description: 'An ETag the client holds, e.g. `"v3"` (or `*`); if it is still current the answer is 304 with no body.',
    // No `example`: Swagger UI pre-fills parameters with their example in "Try it out", which would
    // turn a plain GET into a conditional one that may answer 304 with no body.
    schema: { type: 'string', maxLength: MAX_CONDITION_LENGTH },
  });
  registry.registerComponent('headers', 'ETag', {
    description: 'Strong entity tag of the current version of the resource; send it back as If-Match (actions) or If-None-Match (polling).',
    schema: { type: 'string', pattern: '^"v[1-9][0-9]*"$' },
    example: '"v2"',
  });
  registry.registerComponent('headers', 'RedirectLocation', {
    description: 'Where the redirect goes: an absolute URL.',
    schema: { type: 'string', format: 'uri' },
    example: 'https://accounts.google.com/o/oauth2/v2/auth?response_type=code&client_id=…',
  });
  registry.registerComponent('headers', 'PageETag', {
    description:
      'Strong entity tag of a list page (what it shows of each item, by version); send it back as If-None-Match to poll: 304 while unchanged.',
    schema: { type: 'string', pattern: '^"p[A-Za-z0-9_-]{22}"$' },
    example: '"p3q0Jz6bXk1yW8vN2mT5rA4"',
  });
  registry.registerComponent('headers', 'Location', {
    description: 'Path of the created resource.',
    schema: { type: 'string' },
    example: `/orders/${EXAMPLE_UUID}`,
  });
  registry.registerComponent('headers', 'IdempotentReplayed', {
    description: 'Present (`true`) when this response is the stored answer to an earlier request with the same Idempotency-Key.',
    schema: { type: 'string', enum: ['true'] },
    example: 'true',
  });
  registry.registerComponent('headers', 'RateLimitPolicy', {
    description:
      "The rate limit of this operation's class (IETF RateLimit header fields, structured form): `q` requests per window of `w` " +
      'seconds, per signed-in user (per client IP for sign-in).',
    schema: { type: 'string', pattern: '^"[a-z]+";q=[0-9]+;w=[0-9]+$' },
    example: '"money";q=30;w=60',
  });
  registry.registerComponent('headers', 'RateLimit', {
    description: 'What is left of the budget: `r` requests remaining, the window resetting in `t` seconds.',
    schema: { type: 'string', pattern: '^"[a-z]+";r=[0-9]+;t=[0-9]+$' },
    example: '"money";r=12;t=41',
  });
  registry.registerComponent('headers', 'RetryAfter', {
    description: 'Seconds to wait before retrying.',
    schema: { type: 'integer', minimum: 0 },
    example: 1,
  });
  registry.registerComponent('headers', 'XRequestId', {
    description:
      'The request id: the X-Request-Id the client sent (when it is 1–128 visible ASCII characters), else a generated UUID. ' +
      'Also `request_id` in every problem body and in every log line of the request.',
    schema: { type: 'string', minLength: 1, maxLength: 128 },
    example: '0b6f3c9e-5d1a-4d8e-9d0a-3f0f5f1b2c3d',
  });
}
