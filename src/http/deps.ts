import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { Metrics } from './metrics.js';
import type { Cursors } from './pagination.js';
import type { RateLimitClass, SharedBudget } from './rate-limit.js';

/** What routers need from the process: handed in by main.ts, never imported as globals. */
export interface Deps {
  config: Config;
  db: Db;
  logger: Logger;
  metrics: Metrics;
  cursors: Cursors;
  budgets: Record<RateLimitClass, SharedBudget>;
}
