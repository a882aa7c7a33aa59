import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { POOL_EXHAUSTED, endsSession } from '../db/database.js';
import { DomainError, type ErrorCode, type ValidationIssue } from '../domain/errors.js';

export const PROBLEM_TYPE_BASE = 'https://co-order.dev/problems/';
// Seconds a client should wait before retrying a 409-busy, 429 or 503.
const RETRY_AFTER_SECONDS = '1';

/** The one mapping from a domain error code to HTTP. */
export const PROBLEMS: Record<ErrorCode, { status: number; title: string }> = {
  validation_failed: { status: 400, title: 'The request is invalid' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  malformed_request: { status: 400, title: 'The request is not valid HTTP' },
  body_not_allowed: { status: 400, title: 'This endpoint takes no request body' },
  idempotency_key_missing: { status: 400, title: 'An Idempotency-Key header is required' },
  unauthorized: { status: 401, title: 'A valid bearer token is required' },
  token_invalid: { status: 401, title: 'The access token is invalid' },
  token_expired: { status: 401, title: 'The access token has expired' },
  session_revoked: { status: 401, title: 'The session has been revoked' },
  refresh_token_invalid: { status: 401, title: 'The refresh token is invalid or expired' },
  refresh_token_reused: { status: 401, title: 'The refresh token was reused; the session is revoked' },
  id_token_invalid: { status: 401, title: "The identity provider's ID token is invalid" },
  ticket_invalid: { status: 401, title: 'The event stream ticket is unknown, used or expired' },
  oidc_state_invalid: { status: 400, title: 'The sign-in state is unknown, used or expired' },
  oidc_login_refused: { status: 400, title: 'The identity provider did not sign the person in' },
  oidc_provider_unknown: { status: 404, title: 'No such identity provider' },
  identity_provider_unavailable: { status: 503, title: 'The identity provider is unreachable' },
  forbidden: { status: 403, title: 'You may not do this' },
  not_found: { status: 404, title: 'No such resource' },
  route_not_found: { status: 404, title: 'No such endpoint' },
  dev_login_disabled: { status: 404, title: 'Development login is disabled' },
  order_not_pending: { status: 409, title: 'The order is no longer pending' },
  order_not_matched: { status: 409, title: 'The order is not matched' },
  order_not_cancellable: { status: 409, title: 'The order can no longer be cancelled' },
  order_not_accepted: { status: 409, title: 'The order is not accepted' },
  order_not_ready: { status: 409, title: 'The order is not ready for pick-up' },
  order_not_picked_up: { status: 409, title: 'The order is not picked up' },
  accept_deadline_passed: { status: 409, title: 'The store did not answer in time: the order is rejected' },
  unknown_store: { status: 422, title: 'No such store' },
  order_expired: { status: 409, title: 'The order has expired' },
  order_not_yet_expired: { status: 409, title: 'The order has not expired yet' },
  cart_store_conflict: { status: 409, title: 'The cart holds items of another store' },
  request_in_progress: { status: 409, title: 'A concurrent request on this resource is still in progress' },
  own_order: { status: 422, title: 'You cannot join your own order' },
  minimum_order_not_met: { status: 422, title: "The store's minimum order price is not met" },
  menu_not_in_store: { status: 422, title: 'A menu does not belong to this store' },
  items_required: { status: 422, title: 'Items are required' },
  items_not_allowed: { status: 422, title: 'Items are not allowed here' },
  delivery_address_missing: { status: 422, title: 'No delivery address given or saved' },
  too_many_open_orders: { status: 409, title: 'You have as many open orders as you may' },
  outside_delivery_area: { status: 422, title: "The delivery point is outside the store's delivery area" },
  balance_limit_exceeded: { status: 422, title: 'The top-up would take the balance past its cap' },
  idempotency_key_reused: { status: 422, title: 'The Idempotency-Key was used for a different request' },
  insufficient_credit: { status: 402, title: 'Not enough credit' },
  payment_declined: { status: 402, title: 'The payment provider declined the payment' },
  top_up_not_confirmable: { status: 409, title: 'The top-up is being confirmed with another payment' },
  webhook_signature_invalid: { status: 401, title: 'The webhook signature is missing or wrong' },
  precondition_failed: { status: 412, title: 'The resource has changed (If-Match does not match)' },
  precondition_required: { status: 428, title: 'An If-Match header is required' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The request body must be application/json' },
  request_timeout: { status: 408, title: 'The request was not received in time' },
  headers_too_large: { status: 431, title: 'The request headers are too large' },
  rate_limited: { status: 429, title: 'Too many requests' },
  too_many_streams: { status: 429, title: 'You have as many event streams open as you may' },
  rate_limit_unavailable: { status: 503, title: 'The rate limiter is unavailable' },
  database_unavailable: { status: 503, title: 'The database is unavailable' },
  overloaded: { status: 503, title: 'The service is overloaded' },
  internal_error: { status: 500, title: 'Internal server error' },
};

const RETRYABLE = new Set<ErrorCode>([
  'request_in_progress',
  'database_unavailable',
  'overloaded',
  'identity_provider_unavailable',
  'rate_limit_unavailable',
]);

export interface RenderedResponse {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

export function renderProblem(error: DomainError, instance: string, requestId: string): RenderedResponse {
  const { status, title } = PROBLEMS[error.code];
  const headers: Record<string, string> = { ...error.headers };
  if (RETRYABLE.has(error.code)) headers['Retry-After'] ??= RETRY_AFTER_SECONDS;
  return {
    status,
    headers,
    body: {
      type: PROBLEM_TYPE_BASE + error.code,
      title,
      status,
      detail: error.detail,
      instance,
      code: error.code,
      request_id: requestId,
      ...error.extensions,
    },
  };
}

export function validationError(issues: ValidationIssue[]): DomainError {
  const detail = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  return new DomainError('validation_failed', detail, { errors: issues });
}

// Besides a lost session (endsSession): PostgreSQL states meaning "the database is not there right
// now" (connection lost, shutting down, database dropped or not (yet) there, too many connections,
// statement cut by our timeout), and failures to reach it at all.
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-4]|3D000|53300|57014)/;
const UNAVAILABLE_CLIENT = new Set(['CONNECT_TIMEOUT', 'ECONNREFUSED', 'EHOSTUNREACH']);
// Lock wait exceeded our bound, or the database chose us as a deadlock victim: retry shortly.
const BUSY_SQLSTATE = new Set(['55P03', '40P01', '40001']);

/** Turns anything thrown into a DomainError; unknown failures become internal_error. */
export function toDomainError(error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  if (error instanceof HTTPException) {
    if (error.status === 400) return new DomainError('malformed_json', error.message);
    if (error.status === 413) return new DomainError('payload_too_large', error.message);
    if (error.status === 415) return new DomainError('unsupported_media_type', 'Content-Type must be application/json.');
    if (error.status === 401) return new DomainError('unauthorized', error.message);
  }
  const { code } = (error ?? {}) as { code?: unknown };
  const errorCode = typeof code === 'string' ? code : '';
  // Every connection of our pool was busy for as long as a request may wait: the database is
  // there, we are asking too much of it. Distinct from unavailable so that alerts tell them apart.
  if (errorCode === POOL_EXHAUSTED) {
    return new DomainError('overloaded', 'The service is at capacity; retry shortly.');
  }
  // The session ended (FATAL whatever the SQLSTATE, e.g. 55000 "database is not currently
  // accepting connections" at connect time, or the socket closed), or the database cannot be
  // reached right now: unavailable, not our bug.
  if (endsSession(error) || UNAVAILABLE_SQLSTATE.test(errorCode) || UNAVAILABLE_CLIENT.has(errorCode)) {
    return new DomainError('database_unavailable', 'The database is unavailable; retry shortly.');
  }
  if (BUSY_SQLSTATE.has(errorCode)) {
    return new DomainError('request_in_progress', 'Another request holds this resource; retry shortly.');
  }
  return new DomainError('internal_error', 'An unexpected error occurred.');
}

export function isUnexpected(error: DomainError): boolean {
  return PROBLEMS[error.code].status >= 500;
}

export function sendProblem(c: Context, error: DomainError): Response {
  const rendered = renderProblem(error, c.req.path, c.get('requestId') ?? '');
  return sendRendered(rendered, 'application/problem+json');
}

export function sendRendered(rendered: RenderedResponse | StoredResponse, contentType?: string): Response {
  const body = 'bodyText' in rendered ? rendered.bodyText : JSON.stringify(rendered.body);
  const type = contentType ?? (rendered.status >= 400 ? 'application/problem+json' : 'application/json');
  return new Response(body, {
    status: rendered.status,
    headers: { 'Content-Type': type, ...rendered.headers },
  });
}

/** A response as kept for an idempotent replay: the exact body text. */
export interface StoredResponse {
  status: number;
  bodyText: string;
  headers: Record<string, string>;
}
