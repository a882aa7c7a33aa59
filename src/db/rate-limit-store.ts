import { CompiledQuery } from 'kysely';
import type { Db } from './database.js';

/** The table the rate limits' counters live in (migration 008). */
export const RATE_LIMIT_TABLE = 'rate_limits';

/**
 * rate-limiter-flexible's PostgreSQL store speaks node-postgres (`client.query({text, values})`
 * answering `{rows}`); this is that one method over the service's own database handle, so a
 * counter waits for a connection no longer than any request does (postgres.js alone would queue
 * it without a bound while connections are being re-made).
 */
export function rateLimitStoreClient(db: Db) {
  return {
    query: async (query: { text: string; values?: unknown[] }) => ({
      rows: (await db.executeQuery(CompiledQuery.raw(query.text, query.values ?? []))).rows,
    }),
  };
}
