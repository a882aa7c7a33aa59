import type { IncomingMessage } from 'node:http';
import type { HttpBindings } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';
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

/**
 * Reads a request's body, refusing it (413) past `maxBytes` without reading further, and leaves
 * its text (and its bytes) in hono's body cache, where validators and handlers find it (hono's json() parses that
 * text). Served by Node, it reads Node's own request stream: hono would otherwise go through a
 * web Request and its streams, measured at ~0.3 ms of CPU per POST — more than routing,
 * validation and the JSON answer together. Elsewhere (app.request()), hono's bodyLimit.
 */
export function limitBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  const tooLarge = () => new DomainError('payload_too_large', `The request body exceeds ${maxBytes} bytes.`);
  const elsewhere = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge();
    },
  });
  return async (c, next) => {
    const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
    if (!incoming) return elsewhere(c, next);
    if (Number(c.req.header('Content-Length')) > maxBytes) throw tooLarge();
    const bytes = await readBytes(incoming, maxBytes, tooLarge);
    const text = new TextDecoder().decode(bytes);
    refuseNulInJson(text);
    // hono keeps promises there (its types say values): json() is bodyCache.text.then(JSON.parse).
    // The bytes too, as they came: a signature (a webhook's) is over those, not over decoded text.
    const cache = c.req.bodyCache as { text?: Promise<string>; arrayBuffer?: Promise<ArrayBuffer> };
    cache.text = Promise.resolve(text);
    cache.arrayBuffer = Promise.resolve(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    await next();
  };
}

/** The whole body, or `tooLarge` past `maxBytes`. */
function readBytes(incoming: IncomingMessage, maxBytes: number, tooLarge: () => DomainError): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => incoming.off('data', onData).off('end', onEnd).off('error', onCut).off('close', onCut);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      stop();
      // The rest is read and dropped (not destroyed: that would close the socket before the 413).
      incoming.resume();
      reject(tooLarge());
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks, size));
    };
    // The client went away mid-body (maybe while auth ran): nobody is left to answer; a client error.
    const onCut = () => {
      stop();
      reject(new DomainError('malformed_json', 'The request body ended before it was complete.'));
    };
    if (incoming.destroyed) return onCut();
    incoming.on('data', onData).on('end', onEnd).on('error', onCut).on('close', onCut);
  });
}

// A JSON string escape of NUL: \u0000 after an even number of backslashes (\\u0000 is text).
const ESCAPED_NUL = /(?:^|[^\\])(?:\\\\)*\\u0000/i;

/**
 * NUL is refused in any string a client sends: PostgreSQL cannot store it in text, and no person
 * means it. Raw control characters are not valid JSON and fail parsing on their own.
 */
function refuseNulInJson(text: string): void {
  if (text.includes('\\u') && ESCAPED_NUL.test(text)) {
    throw new DomainError('validation_failed', 'body: strings must not contain NUL (\\u0000).', {
      errors: [{ path: 'body', message: 'contains NUL (\\u0000)' }],
    });
  }
}

/** The same for the query string, where NUL arrives as %00. */
export function refuseNulInQuery(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const url = c.req.url;
    const query = url.indexOf('?');
    if (query >= 0 && /%00|\0/.test(url.slice(query))) {
      throw new DomainError('validation_failed', 'query: parameters must not contain NUL (%00).', {
        errors: [{ path: 'query', message: 'contains NUL (%00)' }],
      });
    }
    await next();
  };
}

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

const hasBody = (c: Context) => {
  const length = c.req.header('Content-Length');
  return (length !== undefined && length !== '0') || c.req.header('Transfer-Encoding') !== undefined;
};

/**
 * A request that carries a body must say it is JSON; otherwise 415 (not a silent empty body). Any
 * spelling of a JSON media type is JSON, whatever its parameters (`application/json;`,
 * `application/json ; charset=utf-8`): the header is rewritten to the bare type the route
 * validators recognise, so no spelling falls between them and this check.
 */
export function requireJsonBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (hasBody(c)) {
      const mediaType = (c.req.header('Content-Type') ?? '').split(';')[0].trim();
      if (!JSON_MEDIA_TYPE.test(mediaType)) {
        throw new DomainError('unsupported_media_type', `Content-Type must be application/json, not "${mediaType || 'none'}".`);
      }
      c.req.raw.headers.set('Content-Type', mediaType.toLowerCase());
    }
    await next();
  };
}

/** For an operation whose contract takes no body: one sent anyway is refused (400), not ignored. */
export function refuseUnexpectedBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (hasBody(c)) {
      throw new DomainError(
        'body_not_allowed',
        `${c.req.method} ${routePath(c, -1).replace(/:(\w+)/g, '{$1}')} takes no request body; send none.`,
      );
    }
    await next();
  };
}

/** What every answer carries, and the default for one whose route did not say how it may be cached. */
export const ALWAYS_SENT_HEADERS = { 'X-Content-Type-Options': 'nosniff' } as const;
export const DEFAULT_CACHE_CONTROL = 'no-store';

/**
 * Headers every answer carries: `nosniff`, and `Cache-Control: no-store` unless a route said
 * otherwise (answers are private: a wallet, a token, an order; public documents set their own).
 */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(ALWAYS_SENT_HEADERS)) c.res.headers.set(name, value);
    if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', DEFAULT_CACHE_CONTROL);
  };
}
