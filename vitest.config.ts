import { defineConfig } from 'vitest/config';

/**
 * postgres.js 3.4.9 drops the promise of the query it runs on every new connection to learn the
 * array types (porsager/postgres#1192): a connection cut while it opens rejects it with nobody to
 * catch it. The service logs and ignores that orphan (main.ts); test/unit/database-pool.test.ts,
 * which cuts its own pool's connections on purpose, meets it too. Only that query's rejection is let
 * go; every other unhandled error still fails the run. Until a postgres.js release fixes #1192.
 */
function isOrphanedTypeFetch(error: { query?: unknown }): boolean {
  return typeof error.query === 'string' && /from pg_catalog\.pg_type a\s/.test(error.query) && error.query.includes('typarray');
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Black-box files start real server processes; two cores run two files at a time well.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    onUnhandledError: (error) => !isOrphanedTypeFetch(error as { query?: unknown }),
  },
});
