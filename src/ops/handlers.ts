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

export const getMetrics =
  (deps: Deps): RouteHandler<typeof metricsRoute, AppEnv> =>
  async (c) => c.text(await deps.metrics.registry.metrics(), 200, { 'Content-Type': deps.metrics.registry.contentType });
