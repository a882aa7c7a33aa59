/**
 * The closed set of failures the service reports. Domain code throws DomainError with one of these
 * codes; src/http/problem.ts is the one place that turns a code into an HTTP status and problem type.
 */
export const ERROR_CODES = [
  'validation_failed',
  'malformed_json',
  'malformed_request',
  'body_not_allowed',
  'idempotency_key_missing',
  'unauthorized',
  'token_invalid',
  'token_expired',
  'session_revoked',
  'refresh_token_invalid',
  'refresh_token_reused',
  'id_token_invalid',
  'ticket_invalid',
  'oidc_state_invalid',
  'oidc_login_refused',
  'oidc_provider_unknown',
  'identity_provider_unavailable',
  'forbidden',
  'not_found',
  'route_not_found',
  'dev_login_disabled',
  'order_not_pending',
  'order_not_matched',
  'order_not_cancellable',
  'order_not_accepted',
  'order_not_ready',
  'order_not_picked_up',
  'accept_deadline_passed',
  'unknown_store',
  'order_expired',
  'order_not_yet_expired',
  'cart_store_conflict',
  'request_in_progress',
  'own_order',
  'minimum_order_not_met',
  'menu_not_in_store',
  'items_required',
  'items_not_allowed',
  'delivery_address_missing',
  'too_many_open_orders',
  'outside_delivery_area',
  'balance_limit_exceeded',
  'idempotency_key_reused',
  'insufficient_credit',
  'payment_declined',
  'top_up_not_confirmable',
  'webhook_signature_invalid',
  'precondition_failed',
  'precondition_required',
  'payload_too_large',
  'unsupported_media_type',
  'request_timeout',
  'headers_too_large',
  'rate_limited',
  'too_many_streams',
  'rate_limit_unavailable',
  'database_unavailable',
  'overloaded',
  'internal_error',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ValidationIssue {
  path: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    /** Extra members of the problem body (e.g. the current order on a 412). */
    readonly extensions: Record<string, unknown> = {},
    /** Extra response headers (e.g. the current ETag on a 412). */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'DomainError';
  }
}
