/**
 * How the app tells database failures apart: the HTTP layer answers both with 503, and the driver
 * stops using a connection whose session is gone.
 */

// The session is gone: the server ended it (FATAL, e.g. pg_terminate_backend) or the socket closed.
const SESSION_LOST = new Set(['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECTION_ENDED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

export function endsSession(error: unknown): boolean {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  return severity === 'FATAL' || severity === 'PANIC' || (typeof code === 'string' && SESSION_LOST.has(code));
}

/** The code of the error a request gets when no pooled connection came free in time. */
export const POOL_EXHAUSTED = 'POOL_EXHAUSTED';
