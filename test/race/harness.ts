/**
 * The race and fault harness as a library: builds its world, runs the chosen scenarios one after
 * the other, audits after each, and reports. Used by `npm run race` (test/race/cli.ts) and, small,
 * by test/blackbox/race.test.ts.
 */
import { fileURLToPath } from 'node:url';
import { audit } from './audit.js';
import { summaryTable, writeReport, type HarnessReport, type ScenarioReport } from './report.js';
import { SCENARIOS, ScenarioStats } from './scenarios.js';
import { createEnvironment, harnessAborted, World } from './setup.js';

const RESULTS_DIR = fileURLToPath(new URL('../../race-results/', import.meta.url));
/** SHUTDOWN_GRACE_MS (10 s) for in-flight requests, then a few seconds to close the pool. */
const SHUTDOWN_BOUND_MS = 20_000;
// Access tokens live 15 minutes at most: the harness signs its actors in again well before that.
const RENEW_SESSIONS_MS = 5 * 60_000;

export interface HarnessOptions {
  /** Rounds of each scenario. */
  rounds: number;
  /** Which scenarios (by id, 1–14); default all. */
  scenarios?: number[];
  /** Drive servers someone else runs (one or more base URLs) instead of starting our own. */
  urls?: string[];
  /** PostgreSQL server for the harness's own database; default DATABASE_URL, else embedded. */
  serverUrl?: string;
  /** Rounds in flight at once. */
  concurrency?: number;
  users?: number;
  /** Where the JSON and markdown reports go; null: not written. */
  resultsDir?: string | null;
  /** Keep the harness database when anomalies were found, to look at it. */
  keepDatabaseOnFailure?: boolean;
  log?: (line: string) => void;
}

export async function runHarness(options: HarnessOptions): Promise<HarnessReport & { files?: { json: string; md: string } }> {
  const log = options.log ?? (() => {});
  const concurrency = options.concurrency ?? 8;
  const users = options.users ?? 48;
  const wanted = new Set(options.scenarios ?? SCENARIOS.map((s) => s.id));
  const started = new Date();
  const t0 = performance.now();
  const env = await createEnvironment({ urls: options.urls, serverUrl: options.serverUrl, log });
  const report: HarnessReport = {
    startedAt: started.toISOString(),
    durationS: 0,
    mode: env.own ? 'own servers' : 'external servers',
    target: env.baseUrls,
    roundsPerScenario: options.rounds,
    concurrency,
    users,
    scenarios: [],
    anomalies: 0,
  };
  let renewing: NodeJS.Timeout | undefined;
  try {
    const world = await World.create(env, users);
    log(`${users} users; store ${world.store.id} (minimum ${world.store.minimum} KRW, tip ${world.store.tip} KRW)`);
    renewing = setInterval(
      () => void world.renewSessions().catch((error: unknown) => log(`renewing the sessions failed: ${String(error)}`)),
      RENEW_SESSIONS_MS,
    );
    for (const scenario of SCENARIOS.filter((s) => wanted.has(s.id))) {
      const unavailable = scenario.unavailable?.(world);
      if (unavailable) {
        const skipped = new ScenarioStats(scenario.id, scenario.name).summary();
        report.scenarios.push({ ...skipped, skipped: unavailable });
        log(`scenario ${scenario.id} (${scenario.name}): skipped — ${unavailable}`);
        continue;
      }
      log(`scenario ${scenario.id} (${scenario.name}): ${options.rounds} rounds…`);
      const stats = new ScenarioStats(scenario.id, scenario.name, scenario.policy);
      try {
        await scenario.run({ world, rounds: options.rounds, concurrency, log }, stats);
      } catch (error) {
        stats.anomaly(`scenario threw: ${(error as Error).stack ?? String(error)}`);
      }
      if (env.own) {
        for (const instance of env.own.instances) {
          for (const crash of instance.takeCrashes()) stats.anomaly(crash);
          // So that the next scenarios still have two instances to talk to.
          if (!instance.alive) await instance.restart().catch((error: unknown) => stats.anomaly(`restart failed: ${String(error)}`));
        }
        if (harnessAborted.reason) stats.anomaly(`scenario cut short: ${harnessAborted.reason}`);
        harnessAborted.reason = undefined;
      }
      const summary = stats.summary();
      let audited: ScenarioReport['audit'];
      try {
        audited = await audit(world);
        for (const v of audited.violations) stats.anomaly(`audit: ${v}`);
      } catch (error) {
        stats.anomaly(`audit threw: ${(error as Error).stack ?? String(error)}`);
      }
      const done: ScenarioReport = {
        ...summary,
        anomalies: stats.anomalyCount,
        anomalyExamples: [...stats.anomalyExamples],
        audit: audited,
      };
      report.scenarios.push(done);
      report.anomalies += done.anomalies;
      log(
        `scenario ${scenario.id}: ${done.rounds} rounds, ${done.wins} wins, ${done.anomalies} anomalies, ` +
          `p50 ${done.p50Ms} ms, p99 ${done.p99Ms} ms, ${done.durationS} s`,
      );
      for (const a of done.anomalyExamples.slice(0, 10)) log(`  ANOMALY ${a}`);
      if (done.anomalies && env.own) {
        for (const instance of env.own.instances) {
          const tail = instance.errors().slice(-10);
          if (tail.length) log(`  last errors logged by ${instance.name}:\n    ${tail.join('\n    ')}`);
        }
      }
    }
    if (env.own) {
      // After all that, each instance must still stop cleanly on SIGTERM: in-flight work finished,
      // pool closed, exit 0 — within the grace period (10 s) and a few seconds to close the pool.
      report.shutdown = await Promise.all(
        env.own.instances.map(async (instance) => {
          const started = Date.now();
          const code = await instance.stop(SHUTDOWN_BOUND_MS);
          const ms = Date.now() - started;
          if (code !== 0) report.anomalies++;
          return code === 0
            ? `${instance.name} exited 0 in ${ms} ms`
            : `ANOMALY ${instance.name} ${code === 'killed' ? `did not exit within ${SHUTDOWN_BOUND_MS} ms of SIGTERM` : `exited with ${code}`}`;
        }),
      );
      for (const line of report.shutdown) log(`shutdown: ${line}`);
      const failed = env.own.instances.filter((_, i) => report.shutdown![i].startsWith('ANOMALY'));
      for (const instance of failed) log(`  last errors logged by ${instance.name}:\n    ${instance.errors().slice(-10).join('\n    ')}`);
    }
  } finally {
    clearInterval(renewing);
    report.durationS = Math.round((performance.now() - t0) / 100) / 10;
    await env.close({ keepDatabase: Boolean(options.keepDatabaseOnFailure && report.anomalies > 0) });
  }
  const files = options.resultsDir === null ? undefined : await writeReport(report, options.resultsDir ?? RESULTS_DIR);
  return { ...report, files };
}

export { summaryTable };
export type { HarnessReport };
