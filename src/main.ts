import { serve } from '@hono/node-server';
import pino from 'pino';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { endsSession, openDatabase } from './db/database.js';
import { startEmbeddedPostgres, type EmbeddedServer } from './db/embedded.js';
import { migrate } from './db/migrate.js';
import { seedDemoData } from './db/seed.js';
import { serviceSecret } from './db/service-secret.js';
import { Authenticator } from './auth/authenticator.js';
import { oidcProviders } from './auth/oidc.js';
import { generateSigningJwk, keyRing } from './auth/signing-keys.js';
import { answerClientError } from './http/client-error.js';
import { createMetrics } from './http/metrics.js';
import { cursorCodec, cursorKey } from './http/pagination.js';
import { eventHubOf } from './events/register.js';
import { scheduleJobs } from './jobs/schedule.js';
import { sharedBudgets } from './http/rate-limit.js';
import { rateLimitPolicies } from './config.js';

async function main(): Promise<void> {
  const config = loadConfig();
  // Asynchronous writes: lines logged while a write is in flight go out together (one syscall for
  // many request lines under load, not one each); pino flushes what is left when the process exits.
  const logger = pino({ level: config.LOG_LEVEL, base: { pid: process.pid } }, pino.destination({ sync: false }));
  // postgres.js 3.4.9 runs a query of its own on every new connection (fetch_types) and drops its
  // promise (porsager/postgres#1192): when the server ends that connection at that moment, the
  // rejection reaches nobody and Node ends the process — every in-flight request with it. The
  // requests are not affected (they fail or succeed on their own), so that one orphan is logged and
  // ignored; any other unhandled rejection still ends the process.
  process.on('unhandledRejection', (reason) => {
    if (endsSession(reason)) {
      logger.warn({ err: reason }, 'a database connection was lost while it opened');
      return;
    }
    logger.fatal({ err: reason }, 'unhandled rejection');
    process.exit(1);
  });

  let embedded: EmbeddedServer | undefined;
  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    logger.info({ dir: config.EMBEDDED_PG_DIR, port: config.EMBEDDED_PG_PORT }, 'no DATABASE_URL: starting embedded PostgreSQL');
    embedded = await startEmbeddedPostgres(config.EMBEDDED_PG_DIR, config.EMBEDDED_PG_PORT);
    logger.info({ dir: embedded.dataDir }, 'embedded PostgreSQL running');
    databaseUrl = embedded.url;
  }
  await migrate(databaseUrl, (name) => logger.info({ migration: name }, 'migration applied'));
  const database = openDatabase({
    url: databaseUrl,
    poolMax: config.DB_POOL_MAX,
    lockWaitMs: config.LOCK_WAIT_MS,
    statementTimeoutMs: config.STATEMENT_TIMEOUT_MS,
    connectTimeoutS: config.DB_CONNECT_TIMEOUT_S,
  });
  if (config.SEED_DEMO_DATA && (await seedDemoData(database.db, config.SIGNUP_GRANT_KRW))) {
    logger.info('demo stores and menus seeded, with a staff account per store and two riders');
  }

  // Production names its signing keys; elsewhere the database keeps one of its own (no known key).
  const signingKeys = config.AUTH_SIGNING_KEYS ?? [
    JSON.parse(
      Buffer.from(
        await serviceSecret(database.db, 'signing-key', async () => Buffer.from(JSON.stringify(await generateSigningJwk()))),
      ).toString('utf8'),
    ),
  ];
  const keys = await keyRing(signingKeys);
  const authenticator = new Authenticator(database.db, keys.verifying, logger);
  await authenticator.start();
  const auth = {
    sessions: { keys, accessTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS, refreshTtlDays: config.REFRESH_TOKEN_TTL_DAYS },
    verifying: keys.verifying,
    authenticator,
    providers: oidcProviders(config.oidcProviders),
  };
  const deps = {
    config,
    db: database.db,
    logger,
    metrics: createMetrics(),
    // Cursors are sealed with the database's own secret: they hide positions in lists, not identities.
    cursors: cursorCodec(cursorKey(await serviceSecret(database.db, 'service'))),
    budgets: sharedBudgets(rateLimitPolicies(config), database.db),
  };
  const events = eventHubOf(deps, (sessionId) => authenticator.isRevoked(sessionId));
  const app = buildApp(deps, auth, events);
  const jobs = config.JOBS_ENABLED ? scheduleJobs(deps) : undefined;

  let stopping = false;
  // Once shutting down, every answer closes its connection: a keep-alive client (or load balancer)
  // sends its next request elsewhere instead of onto a socket about to be closed under it.
  const fetch: typeof app.fetch = async (request, env, executionCtx) => {
    const response = await app.fetch(request, env, executionCtx);
    if (stopping) response.headers.set('Connection', 'close');
    return response;
  };
  const server = serve({ fetch, port: config.PORT, hostname: config.HOST }, (info) => {
    const base = `http://${config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST}:${info.port}`;
    logger.info({ port: info.port, docs: `${base}/docs`, openapi: `${base}/openapi.json` }, `listening on ${base} — docs at ${base}/docs`);
  });

  server.on('clientError', (error, socket) => answerClientError(error, socket, logger));

  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    jobs?.stop();
    // Streams never finish on their own: each is told this instance is stopping, and ended, so
    // its client resumes (with Last-Event-ID) on another.
    await events.endAll('shutting_down');
    authenticator.stop();
    const forced = setTimeout(() => {
      logger.warn('grace period over: closing remaining connections');
      if ('closeAllConnections' in server) server.closeAllConnections();
    }, config.SHUTDOWN_GRACE_MS);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      if ('closeIdleConnections' in server) server.closeIdleConnections();
    });
    clearTimeout(forced);
    await jobs?.idle();
    await database.close();
    await embedded?.stop();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
