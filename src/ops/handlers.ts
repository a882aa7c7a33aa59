import { createHash, timingSafeEqual } from 'node:crypto';
import type { RouteHandler } from '@hono/zod-openapi';
import { sql } from 'kysely';
import { DomainError } from '../domain/errors.js';
import type { Deps } from '../http/deps.js';
import type { AppEnv } from '../http/env.js';
import type { healthRoute, metricsRoute, readyRoute } from './routes.js';

export const getHealth = (): RouteHandler<typeof healthRoute, AppEnv> => (c) => c.json({ status: 'ok' as const }, 200);

export const getReady =
  (deps: Deps): RouteHandler<typeof readyRoute, AppEnv> =>
  async (c) => {
    try {
      await sql`SELECT 1`.execute(deps.db);
    } catch {
      throw new DomainError('database_unavailable', 'The database does not answer.');
    }
    return c.json({ status: 'ok' as const }, 200);
  };

export const getMetrics = (deps: Deps): RouteHandler<typeof metricsRoute, AppEnv> => {
  const expected = deps.config.METRICS_TOKEN === undefined ? undefined : digest(deps.config.METRICS_TOKEN);
  return async (c) => {
    // Process details and business volume are for the operator's scraper only.
    if (expected === undefined) throw new DomainError('unauthorized', 'Metrics are not served: METRICS_TOKEN is not set.');
    const sent = /^Bearer +(\S+) *$/i.exec(c.req.header('Authorization') ?? '')?.[1];
    if (sent === undefined || !timingSafeEqual(digest(sent), expected)) {
      throw new DomainError('unauthorized', 'Send Authorization: Bearer <METRICS_TOKEN>.');
    }
    return c.text(await deps.metrics.registry.metrics(), 200, { 'Content-Type': deps.metrics.registry.contentType });
  };
};

// Equal-length digests: the comparison takes the same time whatever the token's length.
const digest = (token: string) => createHash('sha256').update(token).digest();
