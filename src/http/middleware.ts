import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { routePath } from 'hono/route';
import { v4 as uuidv4 } from 'uuid';
import type { Logger } from 'pino';
import { DomainError } from '../domain/errors.js';
import type { AppEnv } from './env.js';
import type { Metrics } from './metrics.js';

const VALID_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** Honours an incoming X-Request-Id (when sane), else makes one; echoes it; logs one line per request. */
export function requestContext(logger: Logger, metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header('X-Request-Id');
    const requestId = incoming && VALID_REQUEST_ID.test(incoming) ? incoming : uuidv4();
    c.set('requestId', requestId);
    const log = logger.child({ request_id: requestId });
    c.set('log', log);
    const started = performance.now();
    await next();
    c.res.headers.set('X-Request-Id', requestId);
    // The endpoint's pattern (the last matched route), even when a middleware such as auth
    // answered: never the raw path, so metrics labels stay bounded.
    const route = routePath(c, -1);
    const durationMs = performance.now() - started;
    metrics.observeRequest(c.req.method, route, c.res.status, durationMs);
    // The child made above (c.var would copy every context variable into a new object).
    log.info(
      { method: c.req.method, route, path: c.req.path, status: c.res.status, duration_ms: Math.round(durationMs * 10) / 10 },
      'request',
    );
  };
}

export function limitBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new DomainError('payload_too_large', `The request body exceeds ${maxBytes} bytes.`);
    },
  });
}

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** A request that carries a body must say it is JSON; otherwise 415 (not a silent empty body). */
export function requireJsonBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const length = c.req.header('Content-Length');
    const hasBody = (length !== undefined && length !== '0') || c.req.header('Transfer-Encoding') !== undefined;
    if (hasBody) {
      const mediaType = (c.req.header('Content-Type') ?? '').split(';')[0].trim();
      if (!JSON_MEDIA_TYPE.test(mediaType)) {
        throw new DomainError('unsupported_media_type', `Content-Type must be application/json, not "${mediaType || 'none'}".`);
      }
    }
    await next();
  };
}
