import type postgres from 'postgres';

/** The table the rate limits' counters live in (migration 008). */
export const RATE_LIMIT_TABLE = 'rate_limits';

/**
 * rate-limiter-flexible's PostgreSQL store speaks node-postgres (`client.query({text, values})`
 * answering `{rows}`); this is that one method over postgres.js, prepared as the store names it.
 */
export function rateLimitStoreClient(sql: postgres.Sql) {
  return {
    query: async (query: { text: string; values?: unknown[] }) => ({
      rows: [...(await sql.unsafe(query.text, (query.values ?? []) as postgres.ParameterOrJSON<never>[], { prepare: true }))],
    }),
  };
}
