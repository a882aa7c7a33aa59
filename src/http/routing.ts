import type { OpenAPIHono, RouteConfig } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { defaultRateLimitPolicies } from '../config.js';
import type { AppEnv } from './env.js';
import { limitBody, refuseUnexpectedBody, requireJsonBody } from './middleware.js';
import { rateLimitClassOf, withRateLimit, type RateLimitClass } from './rate-limit.js';

/** A route's contract and its handler, as each feature lists them (zod-openapi's defineOpenAPIRoute). */
interface RouteEntry {
  route: RouteConfig;
  handler: unknown;
}

const BODY_METHODS = new Set(['post', 'put', 'patch']);
const DEFAULT_POLICIES = defaultRateLimitPolicies();

/**
 * Registers every feature's routes, one way: what a route's contract says is what is enforced in
 * front of its handler. Security asking for the bearer token (or an event-stream ticket): authentication, first. Then the
 * rate limit of the route's class (rateLimitClassOf), which its contract states. A request
 * body in the contract: JSON only, at most `maxBodyBytes`; none: a body sent anyway is refused.
 * (A GET or DELETE with a stray body is not refused for it.) A route's own middleware, if its
 * entry has any, runs after these and before the contract's validators.
 */
export function registerRoutes(
  app: OpenAPIHono<AppEnv>,
  entries: RouteEntry[],
  options: {
    authenticate: MiddlewareHandler<AppEnv>;
    /** For the routes whose security also takes an event-stream ticket. */
    authenticateStream: MiddlewareHandler<AppEnv>;
    maxBodyBytes: number;
    rateLimits: Record<RateLimitClass, MiddlewareHandler<AppEnv>>;
  },
): void {
  for (const entry of entries) {
    const { handler } = entry;
    let { route } = entry;
    const middleware: MiddlewareHandler<AppEnv>[] = [];
    if (takesTicket(route)) middleware.push(options.authenticateStream);
    else if (needsBearerToken(route)) middleware.push(options.authenticate);
    // After authentication: a signed-in caller's budget is their own, wherever they connect from.
    const rateClass = rateLimitClassOf(route);
    if (rateClass) {
      middleware.push(options.rateLimits[rateClass]);
      // The document is the same whatever this server's limits are: it states the defaults.
      route = withRateLimit(route, rateClass, DEFAULT_POLICIES[rateClass]);
    }
    if (BODY_METHODS.has(route.method)) {
      if (route.request?.body) middleware.push(requireJsonBody(), limitBody(options.maxBodyBytes));
      else middleware.push(refuseUnexpectedBody());
    }
    // A route's own middleware (a webhook's signature check) last, in front of its validators.
    if (route.middleware) middleware.push(...[route.middleware].flat());
    // The entries' handlers were typed against their own routes where the features defined them.
    app.openapi({ ...route, middleware }, handler as never);
  }
}

function needsBearerToken(route: RouteConfig): boolean {
  return (route.security ?? []).some((requirement) => 'bearerAuth' in requirement);
}

function takesTicket(route: RouteConfig): boolean {
  return (route.security ?? []).some((requirement) => 'eventTicket' in requirement);
}
