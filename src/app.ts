import { serveStatic } from '@hono/node-server/serve-static';
import { swaggerUI } from '@hono/swagger-ui';
import { OpenAPIHono } from '@hono/zod-openapi';
import { cors } from 'hono/cors';
import { createRequire } from 'node:module';
import path from 'node:path';
import { authRoutes } from './auth/register.js';
import type { AuthServices } from './auth/services.js';
import { cartRoutes } from './cart/register.js';
import { DEFAULTS } from './config.js';
import { DomainError } from './domain/errors.js';
import { authenticateStream } from './events/handlers.js';
import type { EventHub } from './events/hub.js';
import { eventRoutes } from './events/register.js';
import { requireAuth } from './http/auth.js';
import type { Deps } from './http/deps.js';
import { docsSecurityPolicy } from './http/docs-policy.js';
import type { AppEnv } from './http/env.js';
import { refuseNulInQuery, requestContext, securityHeaders } from './http/middleware.js';
import { registerComponents } from './http/openapi.js';
import { PROBLEMS, PROBLEM_TYPE_BASE, sendProblem, toDomainError, validationError } from './http/problem.js';
import { clientIpOf, trustedProxies } from './http/client-ip.js';
import { RATE_LIMIT_CLASSES, rateLimit } from './http/rate-limit.js';
import { registerRoutes } from './http/routing.js';
import { notificationRoutes } from './notifications/register.js';
import { opsRoutes } from './ops/register.js';
import { orderRoutes } from './orders/register.js';
import { paymentRoutes, paymentWebhookContract } from './payments/register.js';
import { storeRoutes } from './stores/register.js';
import { userRoutes } from './users/register.js';

const TARGET_PREFIX: Record<string, string> = { json: 'body', query: 'query', param: 'path', header: 'header' };

/**
 * Browsers of the listed origins may call the API and read what a client needs: the tags, the
 * retry and rate-limit advice, the request id; and send the conditional and idempotency headers.
 */
const CORS_POLICY = (origins: string[]) => ({
  origin: origins,
  allowMethods: ['GET', 'POST', 'PUT', 'DELETE'],
  allowHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'Idempotency-Key', 'Last-Event-ID', 'X-Request-Id'],
  exposeHeaders: ['ETag', 'Location', 'Retry-After', 'Idempotent-Replayed', 'RateLimit', 'RateLimit-Policy', 'X-Request-Id'],
  maxAge: 600,
});

const swaggerDist = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

export function buildApp(deps: Deps, auth: AuthServices, events: EventHub): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const prefix = TARGET_PREFIX[result.target] ?? result.target;
        throw validationError(
          result.error.issues.map((issue) => ({
            path: [prefix, ...issue.path.map(String)].join('.'),
            message: issue.message,
          })),
        );
      }
    },
  });

  app.use('*', requestContext(deps.logger, deps.metrics), securityHeaders());
  if (deps.config.CORS_ORIGINS.length > 0) app.use('*', cors(CORS_POLICY(deps.config.CORS_ORIGINS)));
  app.use('*', refuseNulInQuery());
  const authenticate = requireAuth((token) => auth.authenticator.authenticate(token));
  const trusted = trustedProxies(deps.config.TRUST_PROXY);
  const clientIp = (c: Parameters<typeof clientIpOf>[0]) => clientIpOf(c, trusted);
  const rateLimits = Object.fromEntries(
    RATE_LIMIT_CLASSES.map((rateClass) => [rateClass, rateLimit(deps.budgets[rateClass], clientIp, deps.metrics)]),
  ) as Parameters<typeof registerRoutes>[2]['rateLimits'];
  registerRoutes(
    app,
    [
      ...opsRoutes(deps),
      ...authRoutes(deps, auth),
      ...userRoutes(deps),
      ...paymentRoutes(deps),
      ...storeRoutes(deps),
      ...cartRoutes(deps),
      ...orderRoutes(deps),
      ...notificationRoutes(deps),
      ...eventRoutes(deps, events),
    ],
    { authenticate, authenticateStream: authenticateStream(deps.db, authenticate), maxBodyBytes: deps.config.MAX_BODY_BYTES, rateLimits },
  );

  registerComponents(app, deps.config.IDEMPOTENCY_RETENTION_HOURS);
  // Called by the payment provider, not by clients: documented under the document's webhooks.
  app.openAPIRegistry.registerWebhook(paymentWebhookContract);
  app.get('/openapi.json', (c) => c.json(openApiDocument(app)));
  // Swagger UI with its assets served from the swagger-ui-dist package: no CDN, works offline.
  app.use(
    '/docs/assets/swagger-ui-dist/*',
    serveStatic({ root: swaggerDist, rewriteRequestPath: (p) => p.replace(/^\/docs\/assets\/swagger-ui-dist/, '') }),
  );
  app.use('/docs', docsSecurityPolicy());
  app.get('/docs', swaggerUI({ url: '/openapi.json', baseUrl: '/docs/assets', title: 'co-order API', persistAuthorization: true }));

  app.notFound((c) => sendProblem(c, new DomainError('route_not_found', `No endpoint ${c.req.method} ${c.req.path}.`)));
  app.onError((error, c) => {
    const problem = toDomainError(error);
    if (problem.code === 'internal_error') c.var.log?.error({ err: error }, 'unexpected error');
    else if (problem.code === 'database_unavailable') c.var.log?.warn({ err: error }, 'database unavailable');
    return sendProblem(c, problem);
  });
  return app;
}

const PROBLEM_LIST = Object.entries(PROBLEMS)
  .map(([code, { status, title }]) => `| \`${PROBLEM_TYPE_BASE}${code}\` | ${status} | ${title} |`)
  .join('\n');

// Not open source: an SPDX custom license reference (OpenAPI 3.1 `license.identifier` is an SPDX
// expression). A separate constant because @hono/zod-openapi types `info` as OpenAPI 3.0's, which
// has no `identifier`; the 3.1 generator copies it as is.
const LICENSE = { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' };

export function openApiDocument(app: OpenAPIHono<AppEnv>) {
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'co-order API',
      version: '1.0.0',
      description:
        `Joint delivery orders: neighbours nearby (within ${DEFAULTS.NEARBY_DEFAULT_RADIUS_M} m, the default search radius) who order from the same restaurant share one ` +
        'delivery and split its fee, paying from a prepaid credit wallet (integer KRW).\n\n' +
        'State changes are explicit POST actions guarded by `If-Match` (optimistic concurrency on the ' +
        'resource `ETag`); money-moving actions take an `Idempotency-Key` so a retry never charges twice.\n\n' +
        'A matched order goes to its store: its staff accept (or reject: both participants refunded) and mark it ready, ' +
        'any rider picks it up and that rider delivers it, which completes it and pays what it held to the store. ' +
        'Store staff and riders are roles a user holds; an action or read that needs a role you lack is a 403.\n\n' +
        'Every response carries `X-Request-Id` (the one the client sent, when it is 1–128 visible ASCII ' +
        'characters, else a generated one); errors repeat it as `request_id`. Answers are private ' +
        '(`Cache-Control: no-store`, `X-Content-Type-Options: nosniff`).\n\n' +
        'Input is strict: a string with NUL, a name or address with control, bidirectional-override or invisible ' +
        'characters, a query number not written as JSON writes numbers (or a count not as plain digits), a cursor the server did not issue, or a body sent to an ' +
        'operation that takes none is a 400, and changes nothing. Requests the HTTP layer cannot parse are answered ' +
        'as problems too (`malformed_request` 400, `request_timeout` 408, `headers_too_large` 431).\n\n' +
        'Every error is `application/problem+json` (RFC 9457) with a stable `type` per `code`:\n\n' +
        '| type | status | title |\n|---|---|---|\n' +
        PROBLEM_LIST,
      license: LICENSE,
    },
    servers: [{ url: '/', description: 'This server' }],
    tags: [
      { name: 'auth', description: 'Sign-in (OpenID Connect, or the development login), sessions and their keys.' },
      { name: 'users', description: 'The signed-in user, the wallet, its top-ups and its ledger.' },
      { name: 'payments', description: 'What the payment provider calls: its notices of payments that changed.' },
      { name: 'stores', description: 'Stores, categories and menus.' },
      { name: 'cart', description: 'The cart an order is made from.' },
      { name: 'orders', description: 'Joint orders and their actions.' },
      { name: 'store staff', description: "A store's queue and payouts: for the store's staff only." },
      { name: 'riders', description: 'Orders ready for pick-up and your deliveries: for riders only.' },
      { name: 'notifications', description: 'What happened to your orders.' },
      { name: 'events', description: 'What happens to your orders, as it happens: server-sent event streams, resumable.' },
      { name: 'operations', description: 'Health, readiness and metrics.' },
    ],
  });
}
