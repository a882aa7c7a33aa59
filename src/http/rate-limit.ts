import type { RouteConfig } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { Db } from '../db/database.js';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { RATE_LIMIT_TABLE, rateLimitStoreClient } from '../db/rate-limit-store.js';
import { DomainError } from '../domain/errors.js';
import type { AppEnv } from './env.js';
import type { Metrics } from './metrics.js';
import { headers, params, rateLimitedResponse } from './openapi.js';

/**
 * Route classes, each with its own budget per principal: signing in (per client IP), moving money
 * (per user), the other actions (per user) and reads (per user).
 */
export const RATE_LIMIT_CLASSES = ['auth', 'money', 'actions', 'reads'] as const;
export type RateLimitClass = (typeof RATE_LIMIT_CLASSES)[number];

export interface RateLimitPolicy {
  quota: number;
  windowSeconds: number;
}

/** The class a route's contract puts it in; undefined for the operational probes and the key set. */
export function rateLimitClassOf(route: RouteConfig): RateLimitClass | undefined {
  const signedIn = (route.security ?? []).some((requirement) => 'bearerAuth' in requirement);
  if (!signedIn) return route.path.startsWith('/auth/') ? 'auth' : undefined;
  if (route.method === 'get') return 'reads';
  if ((route.parameters as unknown[] | undefined)?.includes(params.idempotencyKeyRequired)) return 'money';
  return 'actions';
}

// A budget of this many requests or more is leased to each instance in parts of 1/40th (a read
// budget of 600 a minute: 15 at a time), so reads cost one shared write per 15, not one each; the
// parts an instance holds unused when the window ends are lost, at most 1/40th of the budget per
// instance. Smaller budgets (money, sign-in) are taken one request at a time: exact.
const LEASE_FROM_QUOTA = 200;
const LEASE_PARTS = 40;
// Enough principals for a busy instance; past it, finished windows are forgotten.
const MAX_TRACKED = 100_000;

interface Held {
  tokens: number;
  /** What the shared budget had left when this instance last leased from it. */
  sharedRemaining: number;
  resetAtMs: number;
}

/** A request's standing in its budget: allowed or not, what is left, and when the window resets. */
export interface Decision {
  allowed: boolean;
  remaining: number;
  resetSeconds: number;
}

/**
 * One class's budget per principal, shared by every instance through PostgreSQL: each instance
 * takes requests (or a lease of several) from a fixed-window counter kept by rate-limiter-flexible.
 * A lease that overdraws the budget gives the overdraft back, so instances together never grant
 * more than the quota. A principal past the budget is refused from memory until the window resets.
 */
export class SharedBudget {
  private readonly held = new Map<string, Held>();
  private readonly leasing = new Map<string, Promise<Held>>();
  private readonly lease: number;
  private readonly store: RateLimiterPostgres;

  constructor(
    readonly rateClass: RateLimitClass,
    readonly policy: RateLimitPolicy,
    db: Db,
    options: { failOpen: boolean },
  ) {
    this.lease = policy.quota >= LEASE_FROM_QUOTA ? Math.floor(policy.quota / LEASE_PARTS) : 1;
    const limits = { keyPrefix: rateClass, points: policy.quota, duration: policy.windowSeconds };
    this.store = new RateLimiterPostgres({
      ...limits,
      storeClient: rateLimitStoreClient(db),
      storeType: 'client',
      tableName: RATE_LIMIT_TABLE,
      tableCreated: true,
      // Failing open: with the shared store unreachable, each instance limits on its own.
      insuranceLimiter: options.failOpen ? new RateLimiterMemory(limits) : undefined,
    });
  }

  /** Takes one request from `principal`'s budget. Throws what the store threw when it is unreachable and not failing open. */
  async take(principal: string): Promise<Decision> {
    for (;;) {
      const now = Date.now();
      let held = this.held.get(principal);
      if (held && held.resetAtMs <= now) held = undefined;
      // A request at a time takes from a budget of one-request leases (exact): each its own.
      if (this.lease === 1 && (!held || held.tokens === 0)) held = await this.leaseFor(principal, now);
      if (held && (held.tokens > 0 || held.sharedRemaining === 0)) {
        const allowed = held.tokens > 0;
        if (allowed) held.tokens--;
        return {
          allowed,
          remaining: held.sharedRemaining + held.tokens,
          resetSeconds: Math.max(1, Math.ceil((held.resetAtMs - now) / 1000)),
        };
      }
      await this.leaseOnce(principal, now);
    }
  }

  // Concurrent requests of one principal wait for one lease rather than each taking one: a burst
  // would otherwise lease the budget many times over and hold one part of it.
  private leaseOnce(principal: string, now: number): Promise<Held> {
    let pending = this.leasing.get(principal);
    if (!pending) {
      pending = this.leaseFor(principal, now).finally(() => this.leasing.delete(principal));
      this.leasing.set(principal, pending);
    }
    return pending;
  }

  private async leaseFor(principal: string, now: number): Promise<Held> {
    let held: Held;
    try {
      const taken = await this.store.consume(principal, this.lease);
      held = { tokens: this.lease, sharedRemaining: taken.remainingPoints, resetAtMs: now + taken.msBeforeNext };
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      const overdraft = Math.min(this.lease, refusal.consumedPoints - this.policy.quota);
      // Given back, so that what the budget still had is not lost to this lease.
      if (overdraft > 0) await this.store.reward(principal, overdraft).catch(() => undefined);
      held = { tokens: this.lease - overdraft, sharedRemaining: 0, resetAtMs: now + refusal.msBeforeNext };
    }
    if (this.held.size >= MAX_TRACKED) for (const [key, entry] of this.held) if (entry.resetAtMs <= now) this.held.delete(key);
    this.held.set(principal, held);
    return held;
  }
}

const policyHeader = (budget: SharedBudget) => `"${budget.rateClass}";q=${budget.policy.quota};w=${budget.policy.windowSeconds}`;

/**
 * The rate limit in front of a route: the principal is the signed-in user, or the client IP where
 * nobody is signed in. Every answer carries RateLimit-Policy and RateLimit (the IETF structured
 * fields); past the budget the answer is 429 `rate_limited` with Retry-After at the reset. It runs
 * before the handler, so a 429 is never stored under an Idempotency-Key.
 */
export function rateLimit(
  budget: SharedBudget,
  clientIp: (c: Parameters<MiddlewareHandler<AppEnv>>[0]) => string,
  metrics: Metrics,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.var.userId ? `user:${c.var.userId}` : `ip:${clientIp(c)}`;
    const started = performance.now();
    let decision: Decision;
    try {
      decision = await budget.take(principal);
    } catch (error) {
      c.var.log?.warn({ err: error, rateClass: budget.rateClass }, 'rate limit store unavailable: refusing');
      throw new DomainError('rate_limit_unavailable', 'The rate limiter cannot be reached; try again shortly.');
    } finally {
      metrics.observeRateLimiter(budget.rateClass, (performance.now() - started) / 1000);
    }
    const headers = {
      'RateLimit-Policy': policyHeader(budget),
      RateLimit: `"${budget.rateClass}";r=${decision.remaining};t=${decision.resetSeconds}`,
    };
    if (!decision.allowed) {
      metrics.countRateLimited(budget.rateClass);
      throw new DomainError(
        'rate_limited',
        `Too many ${budget.rateClass} requests: at most ${budget.policy.quota} in ${budget.policy.windowSeconds} s. Retry after ${decision.resetSeconds} s.`,
        {},
        { ...headers, 'Retry-After': String(decision.resetSeconds) },
      );
    }
    await next();
    // On the answer as made, whichever way it was (an idempotent replay, a problem, a handler's).
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };
}

const WHO: Record<RateLimitClass, string> = { auth: 'client IP', money: 'user', actions: 'user', reads: 'user' };

/** The route's contract with its rate limit stated: the class in the description, the headers on every answer, the 429. */
export function withRateLimit(route: RouteConfig, rateClass: RateLimitClass, policy: RateLimitPolicy): RouteConfig {
  const responses = Object.fromEntries(
    Object.entries(route.responses).map(([status, response]) => [
      status,
      { ...response, headers: { ...headers.rateLimit, ...(response as { headers?: object }).headers } },
    ]),
  );
  return {
    ...route,
    description:
      `${route.description ?? ''}\n\nRate limit: class \`${rateClass}\`, ${policy.quota} requests per ${policy.windowSeconds} s ` +
      `per ${WHO[rateClass]} by default (a server setting); past it, 429.`,
    responses: { ...responses, 429: rateLimitedResponse() },
  };
}

/**
 * Every class's shared budget. Reads fail open (with the shared store unreachable each instance
 * limits on its own): a neighbour's order page must not go dark because a counter table did.
 * Sign-in, money and the other actions fail closed (503): those are what an abuser would push
 * through the gap, and the database they write to is the store's own, so they would fail anyway.
 */
export function sharedBudgets(policies: Record<RateLimitClass, RateLimitPolicy>, db: Db): Record<RateLimitClass, SharedBudget> {
  return Object.fromEntries(
    RATE_LIMIT_CLASSES.map((rateClass) => [
      rateClass,
      new SharedBudget(rateClass, policies[rateClass], db, { failOpen: rateClass === 'reads' }),
    ]),
  ) as Record<RateLimitClass, SharedBudget>;
}
