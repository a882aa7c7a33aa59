import cron from 'node-cron';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { Metrics } from '../http/metrics.js';
import { paymentsOf } from '../payments/register.js';
import * as expireOverdue from './expire-overdue.js';
import * as purgeEvents from './purge-events.js';
import * as purgeKeys from './purge-idempotency-keys.js';
import * as purgeSignIn from './purge-sign-in.js';
import * as rejectUnanswered from './reject-unanswered.js';
import * as settleTopUps from './settle-top-ups.js';

/** node-cron only decides when; each job is a plain runOnce() that is safe on every instance. */
export function scheduleJobs({ db, config, logger, metrics }: { db: Db; config: Config; logger: Logger; metrics: Metrics }) {
  const payments = paymentsOf({ db, config, logger, metrics });
  const running = new Set<Promise<unknown>>();
  const every = (name: string, expression: string, job: () => Promise<Record<string, number>>) =>
    cron.schedule(
      expression,
      async () => {
        const run = job()
          .then((counts) => {
            if (Object.values(counts).some((n) => n > 0)) logger.info({ job: name, ...counts }, 'job ran');
          })
          .catch((err: unknown) => logger.warn({ job: name, err }, 'job failed; it will run again'));
        running.add(run);
        await run;
        running.delete(run);
      },
      { name, noOverlap: true },
    );

  const sweep = `*/${config.SWEEP_INTERVAL_SECONDS} * * * * *`;
  const tasks = [
    every('expire-overdue', sweep, () => expireOverdue.runOnce(db, config.SWEEP_BATCH_SIZE, config.SWEEP_CONCURRENCY)),
    every('purge-sign-in', sweep, () => purgeSignIn.runOnce(db)),
    every('reject-unanswered', sweep, () => rejectUnanswered.runOnce(db, config.SWEEP_BATCH_SIZE)),
    every('settle-top-ups', sweep, () => settleTopUps.runOnce(payments, settleTopUps.settlerOptions(config))),
    every('purge-idempotency-keys', config.PURGE_CRON, () =>
      purgeKeys.runOnce(db, config.IDEMPOTENCY_RETENTION_HOURS, config.SWEEP_BATCH_SIZE),
    ),
    every('purge-events', config.PURGE_CRON, () => purgeEvents.runOnce(db, config.EVENTS_RETENTION_HOURS, config.SWEEP_BATCH_SIZE)),
  ];
  return {
    stop: () => tasks.forEach((task) => void task.stop()),
    /** Resolves when no job is mid-run (for a graceful shutdown). */
    idle: async () => {
      await Promise.allSettled([...running]);
    },
  };
}
