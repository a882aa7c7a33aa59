/**
 * `npm run bench` — load tests against the matching core, beside the ceilings that bound them,
 * measured in the same run on the same machine. `npm run bench -- --smoke` does the same with
 * tiny volumes and seconds per scenario (CI runs it so the bench cannot rot).
 *
 * Flags: --smoke, --duration S, --warmup S, --connections N, --only a,b (groups: tokens ceiling nearby
 * get create join accept pick-up deliver cancel replay mixed sweep pgbench floor events), --profile (server under node --cpu-prof, profiles
 * in loadtest/results/profiles), --threads (the server's CPU per thread after each run),
 * --node-option FLAG (a node flag for the server, repeatable),
 * --keep (leave the database for EXPLAIN).
 *
 * floor: get, get-304, join and create again on loadtest/floor-server.ts, which sends the very
 * statements the service sent for them (learnt from the service at the start, lib/floor.ts), on the
 * bare stack; the report sets the service's server CPU per request beside the floor's.
 *
 * Database: DATABASE_URL's server when set (a fresh database on it, dropped at the end), else an
 * embedded PostgreSQL in a temp directory.
 */
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { SignJWT, jwtVerify } from 'jose';
import { UNLIMITED_RADIUS_M, loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { seedDemoData } from '../src/db/seed.js';
import { issueAccessToken, verifyAccessToken } from '../src/auth/access-tokens.js';
import { generateSigningJwk, keyRing } from '../src/auth/signing-keys.js';
import { runOnce as sweepOverdue } from '../src/jobs/expire-overdue.js';
import { RAISED_RATE_LIMITS } from '../test/support/rate-limits.js';
import { databaseUrl, freePort } from '../test/support/urls.js';
import { auditLedger, type ActionAudit } from './lib/audit.js';
import {
  BENCH_STORES,
  CITY,
  MENUS_PER_STORE,
  RIDERS,
  batchUsers,
  createStoresAndUsers,
  insertOrders,
  md5Uuid,
  menuId,
  ELSEWHERE,
  randomPoint,
  riderOf,
  staffOf,
  storeId,
  userId,
  type Area,
  type OrderBatch,
} from './lib/data.js';
import { openStreams, quantile } from './lib/events.js';
import { learnFloorScript } from './lib/floor.js';
import type { FloorScript } from './lib/floor-script.js';
import { addStatuses, runLoad, type HttpRequest, type LoadResult } from './lib/load.js';
import { findPgbench, runPgbench } from './lib/pgbench.js';
import { ROOT, cpuWindow, rssMb, sampleRss, startNodeProcess, threadTicks, type Spawned } from './lib/processes.js';
import { floorTable, table, type Row } from './lib/report.js';
import { createRequest, getOrderRequest, joinRequest, stepRequest } from './lib/requests.js';

// ---------------------------------------------------------------- options

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const value = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
};
const SMOKE = flag('smoke');
const GROUPS = [
  'tokens',
  'ceiling',
  'nearby',
  'get',
  'create',
  'join',
  'accept',
  'pick-up',
  'deliver',
  'cancel',
  'replay',
  'mixed',
  'sweep',
  'pgbench',
  'floor',
  'events',
] as const;
type Group = (typeof GROUPS)[number];
const only = value('only')?.split(',') as Group[] | undefined;
for (const group of only ?? []) {
  if (!GROUPS.includes(group)) throw new Error(`--only: unknown group "${group}" (groups: ${GROUPS.join(' ')})`);
}
const wants = (group: Group) => !only || only.includes(group);

const P = SMOKE
  ? {
      users: 1_000,
      rush: 200,
      nearbyLevels: [1_000, 2_000, 5_000],
      sweep: 2_000,
      actionOrders: 8_000,
      stepOrders: 8_000,
      warmupS: 1,
      durationS: 2,
      pgbenchS: 2,
      streams: 200,
    }
  : {
      users: 20_000,
      rush: 2_000,
      nearbyLevels: [10_000, 100_000, 1_000_000],
      sweep: 100_000,
      actionOrders: 150_000,
      // The steps run at a few hundred a second (pgbench: a few thousand): 40k last a 10 s run.
      stepOrders: 40_000,
      warmupS: 3,
      durationS: 10,
      pgbenchS: 10,
      streams: 5_000,
    };
const CONNECTIONS = Number(value('connections') ?? 64);
const FLOOR_ROUNDS = Number(value('floor-rounds') ?? 1);
const DURATION_S = Number(value('duration') ?? P.durationS);
const WARMUP_S = Number(value('warmup') ?? P.warmupS);
// At most one request per connection is in flight when a run stops (warm-up and measured run).
const IN_FLIGHT = CONNECTIONS * (WARMUP_S > 0 ? 2 : 1);
const RUN = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const TAG = randomBytes(3).toString('hex');
const RESULTS = path.join(ROOT, 'loadtest/results');
mkdirSync(RESULTS, { recursive: true });

const log = (line: string) => console.log(line);
const label = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));

// A seeded generator: the same run asks for the same points.
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = mulberry32(42);

// ---------------------------------------------------------------- database

async function prepareDatabase() {
  let embedded: EmbeddedServer | undefined;
  let embeddedDir: string | undefined;
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    embeddedDir = mkdtempSync(path.join(tmpdir(), 'co-order-bench-pg-'));
    log(`no DATABASE_URL: starting an embedded PostgreSQL in ${embeddedDir}`);
    embedded = await startEmbeddedPostgres(embeddedDir, await freePort());
    serverUrl = embedded.url;
  }
  const name = `co_order_bench_${process.pid}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = databaseUrl(serverUrl, name);
  await migrate(url);
  const handle = openDatabase({ url, poolMax: 2, lockWaitMs: 5000, statementTimeoutMs: 600_000, connectTimeoutS: 10 });
  await seedDemoData(handle.db);
  await handle.close();
  // One connection for setting up and auditing (temp tables, setseed).
  const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { statement_timeout: 0 } as Record<string, number> });
  const [{ version }] = await sql<{ version: string }[]>`SELECT split_part(version(), ' on ', 1) AS version`;
  return {
    url,
    sql,
    where: embedded ? `embedded ${version}` : `${version} at ${new URL(serverUrl).host}`,
    drop: async () => {
      await sql.end();
      if (!flag('keep')) await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      else log(`database kept: ${url}`);
      await admin.end();
      await embedded?.stop();
      if (embeddedDir && !flag('keep')) rmSync(embeddedDir, { recursive: true, force: true });
      else if (embeddedDir) log(`embedded PostgreSQL data kept in ${embeddedDir} (stopped; start it with pg_ctl -D ${embeddedDir} start)`);
    },
  };
}

// ---------------------------------------------------------------- the run

/** What to stop if the run fails half-way (the server, the ceiling server, the database). */
const cleanups: (() => Promise<unknown>)[] = [];

/** The bench database's backends and the server's background processes (for the CPU split). */
let dbPids: () => Promise<number[]> = async () => [];

const rows: Row[] = [];
const auditLines: string[] = [];
let auditFailed = false;
let unexpectedTotal = 0;
const rssPeaks: number[] = [];

async function measure(
  name: string,
  server: Spawned,
  expected: number[],
  next: () => HttpRequest,
): Promise<{ result: LoadResult; seen: Record<string, number>; row: Row }> {
  let warm: LoadResult | undefined;
  if (WARMUP_S > 0) {
    log(`▶ ${name}: warm-up ${WARMUP_S}s`);
    warm = await runLoad({ baseUrl: server.baseUrl, connections: CONNECTIONS, durationS: WARMUP_S, next, label: `${name} warm-up` });
  }
  log(`▶ ${name}: ${DURATION_S}s at ${CONNECTIONS} connections`);
  const rss = sampleRss(server.pid);
  const cpu = await cpuWindow(server.pid, dbPids);
  const threads0 = threadTicks(server.pid);
  const result = await runLoad({
    baseUrl: server.baseUrl,
    connections: CONNECTIONS,
    durationS: DURATION_S,
    next,
    label: name,
    progress: log,
  });
  const split = await cpu.stop();
  const peakRss = rss.stop();
  if (flag('threads')) {
    const threads1 = threadTicks(server.pid);
    const parts = [...threads1]
      .map(([name, t]) => [name, t - (threads0.get(name) ?? 0)] as const)
      .filter(([, t]) => t > 0)
      .sort((a, b) => b[1] - a[1]);
    log(`  server threads (CPU s): ${parts.map(([name, t]) => `${name} ${(t / 100).toFixed(1)}`).join(', ')}`);
  }
  rssPeaks.push(peakRss);
  const other = Object.entries(result.statuses).filter(([code]) => !expected.includes(Number(code)));
  const unexpected = other.reduce((sum, [, n]) => sum + n, 0);
  unexpectedTotal += unexpected + result.errors;
  const row: Row = {
    scenario: name,
    rps: result.rps,
    requests: result.requests,
    p50: result.p50,
    p99: result.p99,
    unexpected,
    errors: result.errors,
    rssMb: peakRss,
    cpu: split,
    note: other.length ? `statuses ${other.map(([c, n]) => `${c}×${n}`).join(', ')}` : undefined,
  };
  log(
    `  ${name}: ${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, statuses ${JSON.stringify(result.statuses)}, errors ${result.errors}, RSS ${Math.round(peakRss)} MB (${await heapOf(server)}), CPU srv/pg/gen ${split.server}/${split.postgres}/${split.loadgen} % (server ${Math.round(((split.server / 100) * 1e6) / Math.max(1, result.rps))} µs CPU per request)`,
  );
  rows.push(row);
  // What the clients were answered in all, warm-up included (for the audit).
  return { result, seen: addStatuses(result.statuses, warm?.statuses ?? {}), row };
}

/**
 * Requests still in flight when the load generator stopped are finishing in the server: wait until
 * none of its connections is busy (or 15 s), so the audit sees their commits.
 */
/**
 * What checking an access token costs, in this process: an HS256 verification (the tokens before
 * sessions), an ES256 one (today's), and the service's path for a token it has seen (a map
 * lookup). The service verifies a token once per instance; every later request takes the last.
 */
async function measureTokenVerification(keys: Awaited<ReturnType<typeof keyRing>>, sessionOf: Map<string, string>, users: number) {
  const count = SMOKE ? 500 : 5000;
  // Imported once, as the service did: given raw bytes, jose would import a key per verification.
  const hmacKey = await crypto.subtle.importKey('raw', randomBytes(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  const subjects = Array.from({ length: Math.min(count, users) }, (_, n) => ({ userId: userId(n), sessionId: sessionOf.get(userId(n))! }));
  const es256 = await Promise.all(subjects.map((s) => issueAccessToken(keys.signing, 900, s).then((t) => t.token)));
  const hs256 = await Promise.all(
    subjects.map((s) =>
      new SignJWT({ sid: s.sessionId }).setProtectedHeader({ alg: 'HS256' }).setSubject(s.userId).setExpirationTime('15m').sign(hmacKey),
    ),
  );
  const perToken = async (tokens: string[], verify: (token: string) => Promise<unknown>) => {
    const started = process.hrtime.bigint();
    for (let n = 0; n < count; n++) await verify(tokens[n % tokens.length]);
    return Number(process.hrtime.bigint() - started) / 1000 / count;
  };
  const hs = await perToken(hs256, (t) => jwtVerify(t, hmacKey, { algorithms: ['HS256'] }));
  const es = await perToken(es256, (t) => verifyAccessToken(keys.verifying, t));
  const seen = new Map(es256.map((t) => [t, { userId: '', expiresAtMs: Date.now() + 60_000 }]));
  const cached = await perToken(es256, async (t) => seen.get(t)!.expiresAtMs > Date.now());
  log(
    `tokens: verify HS256 ${hs.toFixed(1)} µs, ES256 ${es.toFixed(1)} µs (${(es / hs).toFixed(1)}×), ` +
      `a token already verified ${cached.toFixed(2)} µs — per token, ${count.toLocaleString()} each, one core`,
  );
}

async function settle(sql: postgres.Sql) {
  const deadline = Date.now() + 15_000;
  let quiet = 0;
  while (quiet < 3 && Date.now() < deadline) {
    const [{ busy }] = await sql<{ busy: number }[]>`
      SELECT count(*)::int AS busy FROM pg_stat_activity
      WHERE application_name = 'co-order' AND datname = current_database() AND state <> 'idle'`;
    quiet = busy === 0 ? quiet + 1 : 0;
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The bench's own: /metrics answers only a bearer of the server's METRICS_TOKEN.
const METRICS_TOKEN = randomBytes(24).toString('hex');

/** The server's own account of its memory (prom-client's default metrics), for the progress log. */
async function heapOf(server: Spawned): Promise<string> {
  try {
    const text = await (await fetch(`${server.baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const mb = (name: string) =>
      Math.round(Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+]+)`, 'm').exec(text)?.[1] ?? NaN) / 1048576);
    return `heap ${mb('nodejs_heap_size_used_bytes')}/${mb('nodejs_heap_size_total_bytes')} MB, external ${mb('nodejs_external_memory_bytes')} MB`;
  } catch {
    return 'no /metrics';
  }
}

/** Logs an audit's outcome, keeps it for the report, and fails the run when it is not ok. */
function record(ok: boolean, lines: string[], took = '') {
  for (const line of lines) log(`  ${ok ? '✓' : '✗ AUDIT FAILED:'} ${line}${took}`);
  auditLines.push(...lines.map((l) => `${ok ? 'ok' : 'FAILED'}: ${l}`));
  if (!ok) auditFailed = true;
}

async function audit(sql: postgres.Sql, actions: ActionAudit[] = []) {
  await settle(sql);
  const started = Date.now();
  const result = await auditLedger(sql, actions);
  record(result.ok, result.lines, ` (${Date.now() - started} ms)`);
}

async function main() {
  const started = Date.now();
  const startLoad = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  const commit = execSync('git rev-parse --short HEAD', { cwd: ROOT }).toString().trim();
  const dirty = execSync('git status --porcelain -- src migrations loadtest', { cwd: ROOT }).toString().trim() ? ' (+ local changes)' : '';
  log(`co-order bench ${SMOKE ? '(smoke) ' : ''}— ${new Date().toISOString()}, commit ${commit}${dirty}`);
  log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, node ${process.version}`,
  );

  const db = await prepareDatabase();
  cleanups.push(() => db.drop());
  log(`database: ${db.where}`);
  dbPids = async () =>
    (
      await db.sql<{ pid: number }[]>`
      SELECT pid FROM pg_stat_activity
      WHERE (datname = current_database() AND pid <> pg_backend_pid()) OR backend_type IN ('walwriter', 'checkpointer', 'background writer', 'walsender', 'autovacuum launcher')`
    ).map((r) => r.pid);
  const signingJwk = await generateSigningJwk();
  const signingKeys = JSON.stringify({ keys: [signingJwk] });
  // The bench never tops up over HTTP (its wallets are filled in SQL): a provider nowhere to be reached.
  const payments = {
    PAYMENTS_API_URL: 'http://127.0.0.1:9',
    PAYMENTS_SECRET_KEY: 'sk_bench_unreachable',
    PAYMENTS_WEBHOOK_SECRET: 'whsec_bench_unreachable_provider',
  };
  const config = loadConfig({ ...process.env, NODE_ENV: 'production', AUTH_SIGNING_KEYS: signingKeys, ...payments });
  const keys = await keyRing([signingJwk]);

  log(`preparing: ${P.users.toLocaleString()} users, ${BENCH_STORES} stores × ${MENUS_PER_STORE} menus`);
  await createStoresAndUsers(db.sql, P.users);
  // A session per user, as a sign-in makes; access tokens live 15 minutes at most, so they are
  // minted again well before a long run outlives them.
  const sessionOf = new Map(
    (
      await db.sql<
        { id: string; user_id: string }[]
      >`INSERT INTO sessions (id, user_id) SELECT gen_random_uuid(), id FROM users RETURNING id, user_id`
    ).map((row) => [row.user_id, row.id]),
  );
  const tokens: string[] = [];
  const mintTokens = async () => {
    for (let n = 0; n < P.users; n++) {
      const { token } = await issueAccessToken(keys.signing, config.ACCESS_TOKEN_TTL_SECONDS, {
        userId: userId(n),
        sessionId: sessionOf.get(userId(n))!,
      });
      tokens[n] = `Bearer ${token}`;
    }
  };
  await mintTokens();
  // Unref'd: the bench ends when its work does, whatever this timer would mint next.
  setInterval(() => void mintTokens(), (config.ACCESS_TOKEN_TTL_SECONDS * 1000) / 2).unref();

  if (wants('tokens')) await measureTokenVerification(keys, sessionOf, P.users);

  const logFile = path.join(tmpdir(), `co-order-bench-${RUN}.log`);
  const pgbench = findPgbench();
  const pgbenchRows: Record<string, number | undefined> = {};

  // ---- framework ceiling: the bare JSON endpoint, before the service starts
  let httpCeiling: number | undefined;
  if (wants('ceiling')) {
    const ceiling = await startNodeProcess('loadtest/ceiling-server.ts', await freePort(), {}, logFile, '/ceiling');
    cleanups.push(() => ceiling.stop());
    const { result, row } = await measure('ceiling: bare JSON (hono + node-server)', ceiling, [200], () => ({
      method: 'GET',
      path: '/ceiling',
    }));
    httpCeiling = result.rps;
    row.ratio = '1.00 (the HTTP ceiling)';
    await ceiling.stop();
  }
  const vsHttp = (rps: number) => (httpCeiling ? `${(rps / httpCeiling).toFixed(2)} of HTTP` : '');

  // ---- the service, as a user starts it
  const serverEnv: Record<string, string> = {
    NODE_ENV: 'production',
    AUTH_SIGNING_KEYS: signingKeys,
    ...payments,
    METRICS_TOKEN,
    // One load generator is thousands of people: the limits are raised unless --rate-limits asks
    // for the service's defaults (then each of the bench's 20,000 users has their own budget).
    ...(flag('rate-limits') ? {} : RAISED_RATE_LIMITS),
    DATABASE_URL: db.url,
    HOST: '127.0.0.1',
    SEED_DEMO_DATA: 'false',
    // The sweeper runs in the `sweep` scenario, not in the background of the others.
    JOBS_ENABLED: 'false',
    // The quotas raised: the bench gives each user many pending orders (the create scenario, and
    // the rush it prepares) and spreads stores and deliveries over a city 9 km across. The quota
    // checks still run (the count and the distance), so create costs what it costs in production.
    // loadtest/pgbench/create.sql restates MAX_OPEN_ORDERS.
    MAX_OPEN_ORDERS: '1000',
    DELIVERY_RADIUS_M: String(UNLIMITED_RADIUS_M),
  };
  const profileDir = path.join(RESULTS, 'profiles');
  // --node-option X (repeatable): a node flag for the server, for experiments (e.g. GC settings).
  const nodeOptions = argv.flatMap((a, i) => (a === '--node-option' && argv[i + 1] ? [argv[i + 1]] : []));
  const nodeFlags = [...(flag('profile') ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...nodeOptions];
  // As `npm start` runs it: the node flags of package.json's start script, then the entry point.
  const startScript = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const startArgs = startScript.split(/\s+/);
  if (startArgs[0] !== 'node' || startArgs.at(-1) !== 'src/main.ts' || startArgs.at(-2) !== 'tsx' || startArgs.at(-3) !== '--import') {
    throw new Error(`package.json's start script is not "node [flags] --import tsx src/main.ts": ${startScript}`);
  }
  const startFlags = startArgs.slice(1, -3);

  // ---- the floor: what the service sends for get, get-304, join and create, learnt before it
  // serves (lib/floor.ts), for loadtest/floor-server.ts to send the same
  const floorEnv = (url: string, script: FloorScript, poolMax: number) => ({
    FLOOR_SCRIPT: JSON.stringify(script),
    AUTH_PUBLIC_KEY: JSON.stringify(keys.verifying.jwks.keys[0]),
    DATABASE_URL: url,
    DB_POOL_MAX: String(poolMax),
    LOCK_WAIT_MS: String(config.LOCK_WAIT_MS),
    STATEMENT_TIMEOUT_MS: String(config.STATEMENT_TIMEOUT_MS),
    DB_CONNECT_TIMEOUT_S: String(config.DB_CONNECT_TIMEOUT_S),
  });
  // npm start's node flags and --node-option's for the floor too (the same heap limit: the same
  // garbage collection); --profile's only for the measured service.
  const plainFlags = [...startFlags, ...nodeOptions];
  // The tap counts a round trip when a client sends after an answer reached it; on a machine busy
  // enough, PostgreSQL answers a statement before the next one of the same write has crossed the
  // tap, and two samples disagree on round trips they did not differ in. Learnt again, then.
  const learnFloor = async (options: Parameters<typeof learnFloorScript>[0]) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await learnFloorScript({ ...options, tag: `${options.tag}${attempt}` });
      } catch (error) {
        if (attempt === 3) throw error;
        log(`floor: learning failed (${(error as Error).message.split('\n')[0].slice(0, 160)}); again`);
      }
    }
  };
  const floorScript =
    wants('floor') && (wants('get') || wants('create') || wants('join'))
      ? await learnFloor({
          sql: db.sql,
          databaseUrl: db.url,
          tag: TAG,
          users: P.users,
          token: (n) => tokens[n],
          userId,
          area: ELSEWHERE,
          log,
          startService: async (url) =>
            startNodeProcess(
              'src/main.ts',
              await freePort(),
              { ...serverEnv, DATABASE_URL: url, DB_POOL_MAX: '1' },
              logFile,
              '/ready',
              plainFlags,
            ),
          startFloor: async (url, script) =>
            startNodeProcess('loadtest/floor-server.ts', await freePort(), floorEnv(url, script, 1), logFile, '/ready', plainFlags),
        })
      : undefined;
  let floorServer: Spawned | undefined;
  /**
   * A floor scenario, measured as the service's are. A floor process just started gets a warm-up
   * more first: it starts cold, where the service has been serving for a while.
   */
  const measureFloor = async (scenario: string, expected: number[], next: () => HttpRequest) => {
    let extra: LoadResult | undefined;
    if (!floorServer) {
      log(
        `starting the floor: node ${[...plainFlags, '--import', 'tsx', 'loadtest/floor-server.ts'].join(' ')} (DB_POOL_MAX=${config.DB_POOL_MAX})`,
      );
      const started = await startNodeProcess(
        'loadtest/floor-server.ts',
        await freePort(),
        floorEnv(db.url, floorScript!, config.DB_POOL_MAX),
        logFile,
        '/ready',
        plainFlags,
      );
      cleanups.unshift(() => started.stop());
      floorServer = started;
      if (WARMUP_S > 0) {
        log(`▶ floor: ${scenario}: warm-up of the fresh process ${WARMUP_S}s`);
        extra = await runLoad({
          baseUrl: started.baseUrl,
          connections: CONNECTIONS,
          durationS: WARMUP_S,
          next,
          label: `floor: ${scenario} first warm-up`,
        });
      }
    }
    const measured = await measure(`floor: ${scenario}`, floorServer, expected, next);
    // For the audit: what the clients were answered in all, and one run more that may have been cut off in flight.
    return { ...measured, seen: addStatuses(measured.seen, extra?.statuses ?? {}), inFlight: IN_FLIGHT + (extra ? CONNECTIONS : 0) };
  };
  // Its pool's connections would be missing to pgbench's clients (the server's max_connections).
  const stopFloor = async () => {
    await floorServer?.stop();
    floorServer = undefined;
  };
  /** The service's row against the floor's in the same run: requests per second. */
  const vsFloor = (service: Row, floorRow: Row) => {
    floorRow.ratio = `1.00 (the floor for ${service.scenario})`;
    service.ratio = [service.ratio, `${((service.rps ?? NaN) / (floorRow.rps ?? NaN)).toFixed(2)} of floor`].filter(Boolean).join(' · ');
  };
  log(
    `starting the service: node ${[...startFlags, ...nodeFlags, '--import', 'tsx', 'src/main.ts'].join(' ')} (npm start's command; NODE_ENV=production, LOG_LEVEL=${process.env.LOG_LEVEL ?? 'info'}, DB_POOL_MAX=${config.DB_POOL_MAX}, log → ${logFile})`,
  );
  const server = await startNodeProcess('src/main.ts', await freePort(), serverEnv, logFile, '/ready', [...startFlags, ...nodeFlags]);
  cleanups.unshift(() => server.stop());
  // Requests come from the lunch hour's active users (a tenth of them), each keeping its token as
  // an app does (so after the warm-up the service knows their tokens); the orders they join were
  // opened by anyone.
  const activeUsers = Math.max(2, Math.floor(tokens.length / 10));
  const anyToken = () => tokens[Math.floor(random() * activeUsers)];
  // The active users' apps are open: each has made a request already (the service knows the token).
  {
    const t = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < activeUsers) {
          const response = await fetch(`${server.baseUrl}/users/me`, { headers: { authorization: tokens[next++] } });
          await response.arrayBuffer();
          if (!response.ok) throw new Error(`GET /users/me answered ${response.status}`);
        }
      }),
    );
    log(`${activeUsers.toLocaleString()} active users signed in (GET /users/me each) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  /** The n-th joiner of a batch's order g: an active user, never the order's creator. */
  const joinerOf = (n: number, g: number) => {
    const joiner = n % activeUsers;
    return joiner === batchUsers(g, P.users).creator ? (joiner + 1) % activeUsers : joiner;
  };
  /**
   * Joins of `count` fresh pending orders, each by a joiner who is not its creator, measured by
   * `run` (the service's measure, or the floor's), then audited under their key prefix.
   */
  const measureJoins = async (
    scenario: string,
    batch: string,
    keyPrefix: string,
    count: number,
    run: (
      scenario: string,
      next: () => HttpRequest,
    ) => Promise<{ result: LoadResult; seen: Record<string, number>; row: Row; inFlight?: number }>,
  ) => {
    const { ids: targets } = await pendingBatch(batch, count);
    let k = 0;
    const measured = await run(scenario, () => {
      const n = k++;
      return joinRequest(targets[n % targets.length], tokens[joinerOf(n, n % targets.length)], `${keyPrefix}${n}`);
    });
    if (k > targets.length) measured.row.note = `ran out of pending orders (${targets.length}): later requests hit matched ones`;
    await audit(db.sql, [
      {
        keyPrefix,
        action: 'join',
        connections: measured.inFlight ?? IN_FLIGHT,
        targets: targets.slice(0, k),
        observed2xx: measured.seen['200'] ?? 0,
      },
    ]);
    return measured;
  };
  const onService = (scenario: string, next: () => HttpRequest) => measure(scenario, server, [200], next);

  // ---- nearby at growing volumes: the lunch rush's pending orders in the city, and a history
  // that grows 10k → 100k → 1M (the index covers pending orders only, so it should not matter)
  let ordersInDb = 0;
  const nearbyP99: Record<number, number> = {};
  const nearby = (): HttpRequest => {
    const { lat, lon } = randomPoint(random);
    return {
      method: 'GET',
      path: `/orders?lat=${lat.toFixed(6)}&lon=${lon.toFixed(6)}&radius_m=300`,
      headers: { authorization: anyToken() },
    };
  };
  log(`preparing: the lunch rush, ${P.rush.toLocaleString()} pending orders over the city`);
  await insertOrders(db.sql, { tag: `rush-${TAG}`, count: P.rush, users: P.users, kind: 'pending' });
  ordersInDb = P.rush;
  for (const level of wants('nearby') || wants('mixed') ? P.nearbyLevels : []) {
    const add = level - ordersInDb;
    log(`preparing: ${add.toLocaleString()} more past orders (${label(level)} orders in all, ${P.rush.toLocaleString()} of them pending)`);
    const t = Date.now();
    await insertOrders(db.sql, { tag: `history-${level}`, count: add, users: P.users, kind: 'history' });
    log(`  inserted in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    ordersInDb = level;
    if (!wants('nearby')) continue;
    const { result, row } = await measure(`nearby @ ${label(level)} orders`, server, [200], nearby);
    nearbyP99[level] = result.p99;
    row.ratio = vsHttp(result.rps);
    if (level === P.nearbyLevels.at(-1)) {
      const base = nearbyP99[P.nearbyLevels[0]];
      row.target = `p99 ≤ 20 ms and ≤ 2 × ${label(P.nearbyLevels[0])} (${base} ms)`;
      row.met = result.p99 <= 20 && result.p99 <= 2 * base;
    }
  }

  // ---- create
  const createPrefix = `create-${TAG}-`;
  const replayable: HttpRequest[] = [];
  const createRequests = (prefix: string, area: Area, record?: HttpRequest[]) => {
    let k = 0;
    return (): HttpRequest => {
      const n = k++;
      const user = n % activeUsers;
      const store = (n * 31) % BENCH_STORES;
      const menu = n % MENUS_PER_STORE;
      const { lat, lon } = randomPoint(random, area);
      const request = createRequest({
        authorization: tokens[user],
        key: `${prefix}${n}`,
        storeId: storeId(store),
        menuId: menuId(store, menu),
        address: `${prefix}${n}`,
        lat,
        lon,
      });
      if (record && record.length < 20_000) record.push(request);
      return request;
    };
  };
  const targetOf = (rps: number) => `≥ 3,000 req/s, p99 ≤ 50 ms, 0 errors, ≥ 0.5 × pgbench (${Math.round(rps)} tps)`;
  // Round 1 is the bench's own; --floor-rounds N measures the service and the floor N times over,
  // interleaved, for a ratio a busy machine's drift cannot fake (the report takes the median).
  for (let round = 1; round <= FLOOR_ROUNDS; round++) {
    const r = round === 1 ? '' : ` #${round}`;
    const p = round === 1 ? '' : `r${round}-`;
    // ---- reads of one order
    if (wants('get')) {
      const sample = await db.sql<{ id: string; version: number }[]>`
        SELECT id, version FROM orders TABLESAMPLE BERNOULLI (5) REPEATABLE (7) LIMIT 20000`;
      let i = 0;
      const get = (withTag: boolean) => (): HttpRequest => getOrderRequest(sample[i++ % sample.length], anyToken(), withTag);
      const g = await measure(`get${r}`, server, [200], get(false));
      g.row.ratio = vsHttp(g.result.rps);
      g.row.target = '≥ 10,000 req/s';
      g.row.met = g.result.rps >= 10_000;
      const n = await measure(`get-304${r}`, server, [304], get(true));
      n.row.ratio = vsHttp(n.result.rps);
      n.row.target = '≥ 15,000 req/s';
      n.row.met = n.result.rps >= 15_000;
      if (floorScript) {
        vsFloor(g.row, (await measureFloor(`get${r}`, [200], get(false))).row);
        vsFloor(n.row, (await measureFloor(`get-304${r}`, [304], get(true))).row);
      }
    }

    if (wants('create')) {
      const { result, seen, row } = await measure(
        `create${r}`,
        server,
        [201],
        createRequests(`${createPrefix}${p}`, ELSEWHERE, round === 1 ? replayable : undefined),
      );
      row.ratio = vsHttp(result.rps);
      await audit(db.sql, [
        {
          keyPrefix: `${createPrefix}${p}`,
          action: 'create',
          connections: IN_FLIGHT,
          observed2xx: seen['201'] ?? 0,
        },
      ]);
      if (floorScript) {
        const floorPrefix = `floor-create-${TAG}-${p}`;
        const f = await measureFloor(`create${r}`, [201], createRequests(floorPrefix, ELSEWHERE));
        vsFloor(row, f.row);
        await audit(db.sql, [{ keyPrefix: floorPrefix, action: 'create', connections: f.inFlight, observed2xx: f.seen['201'] ?? 0 }]);
      }
      if (wants('pgbench') && round === 1) pgbenchRows.create = await dbCeiling('create', result, row);
    }

    // ---- join: distinct pending orders, each with its ETag
    if (wants('join')) {
      const { result, row } = await measureJoins(`join${r}`, `join${p}`, `join-${TAG}-${p}`, P.actionOrders, onService);
      row.ratio = vsHttp(result.rps);
      if (floorScript) {
        // Orders of its own; fewer than the service's: the floor joins at most a few thousand a second.
        const f = await measureJoins(
          `join${r}`,
          `floor-join${p}`,
          `floor-join-${TAG}-${p}`,
          Math.min(P.actionOrders, 50_000),
          (name, next) => measureFloor(name, [200], next),
        );
        vsFloor(row, f.row);
      }
      if (wants('pgbench') && round === 1) pgbenchRows.join = await dbCeiling('join', result, row);
    }
  }
  await stopFloor();

  // ---- the store's and the rider's steps, each on distinct orders in the state it starts from,
  // sent by whom the contract allows: the store's staff accepts a matched order, any rider picks
  // up a ready one, the rider who picked it up delivers it (the store is paid in that transaction)
  for (const step of STEPS) {
    if (!wants(step.action)) continue;
    const { ids: targets } = await stageBatch(step.action, step.kind, P.stepOrders);
    let k = 0;
    const prefix = `${step.action}-${TAG}-`;
    const { result, seen, row } = await measure(step.action, server, [200], () => {
      const n = k++;
      const g = n % targets.length;
      return stepRequest(step.action, targets[g], step.version, tokens[step.actor(g)], `${prefix}${n}`);
    });
    row.ratio = vsHttp(result.rps);
    if (k > targets.length) row.note = `ran out of ${step.kind} orders (${targets.length}): later requests hit moved ones`;
    await audit(db.sql, [
      { keyPrefix: prefix, action: step.action, connections: IN_FLIGHT, targets: targets.slice(0, k), observed2xx: seen['200'] ?? 0 },
    ]);
    if (wants('pgbench')) pgbenchRows[step.action] = await dbCeiling(step.action, result, row);
  }

  // ---- cancel: the creator withdraws distinct pending orders
  if (wants('cancel')) {
    // Opened by active users, who cancel them.
    const { ids: targets } = await pendingBatch('cancel', Math.round(P.actionOrders * 0.7), activeUsers);
    let k = 0;
    const cancelPrefix = `cancel-${TAG}-`;
    const { result, seen, row } = await measure('cancel', server, [200], () => {
      const n = k++;
      const { creator } = batchUsers(n % targets.length, activeUsers);
      return {
        method: 'POST',
        path: `/orders/${targets[n % targets.length]}/cancel`,
        headers: { authorization: tokens[creator], 'if-match': '"v1"', 'idempotency-key': `${cancelPrefix}${n}` },
      };
    });
    row.ratio = vsHttp(result.rps);
    await audit(db.sql, [
      {
        keyPrefix: cancelPrefix,
        action: 'cancel',
        connections: IN_FLIGHT,
        targets: targets.slice(0, k),
        observed2xx: seen['200'] ?? 0,
      },
    ]);
  }

  // ---- replay: the same create requests again (answered from the stored response)
  if (wants('replay') && replayable.length) {
    await settle(db.sql);
    const stored = new Set(
      (
        await db.sql<{ key: string }[]>`
      SELECT key FROM idempotency_keys WHERE key LIKE ${`${createPrefix}%`} AND response_status = 201`
      ).map((r) => r.key),
    );
    const requests = replayable.filter((r) => stored.has(r.headers!['idempotency-key']));
    // What a replay must not move: orders, ledger rows, and the balances themselves.
    const moved = async () =>
      (
        await db.sql<{ orders: number; ledger: number; credit: string }[]>`
      SELECT (SELECT count(*) FROM orders)::int AS orders, (SELECT count(*) FROM credit_ledger)::int AS ledger,
             (SELECT sum(credit) FROM users)::text AS credit`
      )[0];
    const before = await moved();
    let i = 0;
    const { result, row } = await measure('replay', server, [201], () => requests[i++ % requests.length]);
    row.ratio = vsHttp(result.rps);
    await settle(db.sql);
    const after = await moved();
    const same = before.orders === after.orders && before.ledger === after.ledger && before.credit === after.credit;
    record(same, [
      `replays of ${requests.length} stored answers moved nothing (orders ${before.orders} → ${after.orders}, ledger rows ${before.ledger} → ${after.ledger}, sum of balances ${before.credit} → ${after.credit})`,
    ]);
  }

  // ---- mixed: the lunch-hour mix
  if (wants('mixed')) {
    const { ids: targets } = await pendingBatch('mixed', Math.round(P.actionOrders * 0.3));
    const sample = await db.sql<{ id: string; version: number }[]>`
      SELECT id, version FROM orders TABLESAMPLE BERNOULLI (5) REPEATABLE (11) WHERE status = 'pending' LIMIT 20000`;
    const mixedPrefix = `mixed-${TAG}-`;
    const create = createRequests(`${mixedPrefix}c-`, CITY);
    let n = 0;
    let joins = 0;
    let polls = 0;
    // Per 100 requests: 55 nearby lists, 30 polls of an order (304), 8 creates, 7 joins.
    const { result, seen, row } = await measure(
      'mixed (55 % nearby, 30 % 304 polls, 8 % create, 7 % join)',
      server,
      [200, 201, 304],
      () => {
        const slot = n++ % 100;
        if (slot < 55) return nearby();
        if (slot < 85) {
          const order = sample[polls++ % sample.length];
          return {
            method: 'GET',
            path: `/orders/${order.id}`,
            headers: { authorization: anyToken(), 'if-none-match': `"v${order.version}"` },
          };
        }
        if (slot < 93) return create();
        const j = joins++;
        const joiner = joinerOf(j, j % targets.length);
        return {
          method: 'POST',
          path: `/orders/${targets[j % targets.length]}/join`,
          headers: {
            authorization: tokens[joiner],
            'content-type': 'application/json',
            'if-match': '"v1"',
            'idempotency-key': `${mixedPrefix}j-${j}`,
          },
          body: '{}',
        };
      },
    );
    row.ratio = vsHttp(result.rps);
    // Its 201s are its creates; its joins' 200s cannot be told from the nearby lists' 200s.
    await audit(db.sql, [
      { keyPrefix: `${mixedPrefix}c-`, action: 'create', connections: IN_FLIGHT, observed2xx: seen['201'] ?? 0 },
      { keyPrefix: `${mixedPrefix}j-`, action: 'join', connections: IN_FLIGHT, targets: targets.slice(0, joins) },
    ]);
  }

  // ---- events: idle streams on one instance, then changes delivered across two, and what open
  // streams cost the request paths
  if (wants('events')) {
    const count = P.streams;
    const sample = await db.sql<{ id: string; version: number }[]>`
      SELECT id, version FROM orders TABLESAMPLE BERNOULLI (5) REPEATABLE (13) LIMIT 20000`;
    let gi = 0;
    const get = (): HttpRequest => getOrderRequest(sample[gi++ % sample.length], anyToken(), false);
    const joinRun = async (name: string) =>
      (await measureJoins(`join, ${name}`, name, `${name}-${TAG}-`, Math.round(P.actionOrders / 3), onService)).row;
    // The request paths without any stream open.
    const getBare = (await measure('get, no streams open', server, [200], get)).row;
    const joinBare = await joinRun('no-streams');

    // Idle streams, one per user (users beyond the active ones: they are not the load's).
    const streamUser = (i: number) => activeUsers + (i % (P.users - activeUsers));
    const rssBefore = rssMb(server.pid);
    log(`▶ events: opening ${count.toLocaleString()} streams on one instance`);
    const t = performance.now();
    const streams = await openStreams(server.baseUrl, count, (i) => tokens[streamUser(i)]);
    log(`  opened in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const rssIdle = rssMb(server.pid);
    log(
      `  server RSS ${Math.round(rssBefore)} MB before, ${Math.round(rssIdle)} MB with ${count.toLocaleString()} idle streams (${await heapOf(server)})`,
    );
    rows.push({
      scenario: `events: ${label(count)} idle streams, one instance`,
      rssMb: rssIdle,
      target: '≤ 300 MB',
      met: rssIdle <= 300,
      note: `${Math.round(rssBefore)} MB before they opened: ${(((rssIdle - rssBefore) * 1024) / count).toFixed(1)} kB per stream`,
    });
    // What streams open cost the requests: the same runs again beside them.
    const getWith = (await measure(`get, ${label(count)} streams open`, server, [200], get)).row;
    const joinWith = await joinRun(`${label(count)}-streams`);
    for (const [withStreams, bare] of [
      [getWith, getBare],
      [joinWith, joinBare],
    ] as const) {
      withStreams.ratio = `${((withStreams.rps ?? NaN) / (bare.rps ?? NaN)).toFixed(2)} of the run without streams`;
    }
    // Streams never count towards the service's RSS target of ordinary runs.
    rssPeaks.splice(-2);

    // Half the streams move to a second instance; changes are committed through both, alternately.
    const second = await startNodeProcess('src/main.ts', await freePort(), serverEnv, logFile, '/ready', startFlags);
    cleanups.unshift(() => second.stop());
    for (const stream of streams.slice(count / 2)) stream.close();
    const moved = await openStreams(second.baseUrl, count / 2, (i) => tokens[streamUser(count / 2 + i)]);
    const split = [...streams.slice(0, count / 2), ...moved];
    const perSecond = 100;
    const changes = perSecond * DURATION_S;
    log(`▶ events: ${changes.toLocaleString()} order changes at ${perSecond}/s over ${count.toLocaleString()} streams on two instances`);
    const answered = new Map<string, { sent: number; answered: number; stream: number }>();
    const prefix = `events-${TAG}-`;
    const tick = performance.now();
    await Promise.all(
      Array.from({ length: changes }, async (_, n) => {
        await new Promise((resolve) => setTimeout(resolve, tick + (n * 1000) / perSecond - performance.now()));
        const i = (n * 7919) % count;
        const store = (n * 31) % BENCH_STORES;
        const { lat, lon } = randomPoint(random, ELSEWHERE);
        const request = createRequest({
          authorization: tokens[streamUser(i)],
          key: `${prefix}${n}`,
          storeId: storeId(store),
          menuId: menuId(store, n % MENUS_PER_STORE),
          address: `${prefix}${n}`,
          lat,
          lon,
        });
        // Sent to the instance the stream is not on for every other change: across instances.
        const target = n % 2 === 0 ? server : second;
        const sent = performance.now();
        const response = await fetch(target.baseUrl + request.path, { method: 'POST', headers: request.headers, body: request.body });
        const body = (await response.json()) as { id?: string };
        if (response.status === 201 && body.id) answered.set(body.id, { sent, answered: performance.now(), stream: i });
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    // The commit is between the create's sending and its answer (loopback: the answer comes well
    // under a millisecond after it): latency is counted from the answer, so an event that beat
    // the answer to the client counts 0.
    const latencies: number[] = [];
    let missing = 0;
    for (const [orderId, { answered: at, stream }] of answered) {
      const received = split[stream].received.get(orderId);
      if (received === undefined) missing++;
      else latencies.push(Math.max(0, received - at));
    }
    const p50 = Math.round(quantile(latencies, 0.5));
    const p99 = Math.round(quantile(latencies, 0.99));
    log(
      `  delivered ${latencies.length} of ${answered.size} changes (${missing} missing): p50 ${p50} ms, p99 ${p99} ms after the create's answer`,
    );
    rows.push({
      scenario: `events: ${perSecond} changes/s to ${label(count)} streams, two instances`,
      rps: answered.size / DURATION_S,
      p50,
      p99,
      unexpected: changes - answered.size + missing,
      target: 'p99 ≤ 1,000 ms, none missing',
      met: p99 <= 1000 && missing === 0 && answered.size === changes,
      note: `half the changes committed on the instance the stream is not on; ${missing} not delivered; EVENTS_POLL_MS ${config.EVENTS_POLL_MS}`,
    });
    unexpectedTotal += changes - answered.size + missing;
    for (const stream of split) stream.close();
    await second.stop();
    await audit(db.sql);
  }

  // ---- nearby under stress: pending orders at 10 % of the largest volume, a page full everywhere
  if (wants('nearby')) {
    const level = P.nearbyLevels.at(-1)!;
    const stress = level / 10;
    log(`preparing: ${(stress - P.rush).toLocaleString()} more pending orders over the city (${label(stress)} pending: stress)`);
    await insertOrders(db.sql, { tag: `stress-${TAG}`, count: stress - P.rush, users: P.users, kind: 'pending' });
    const { result, row } = await measure(`nearby @ ${label(level)} orders, ${label(stress)} pending (stress)`, server, [200], nearby);
    row.ratio = vsHttp(result.rps);
    row.note = 'not a target: 10 % of a million orders pending at once (~450 in a 300 m box) shows the cost of full pages';
  }

  const serverRss = Math.max(...rssPeaks, 0);
  const stopping = Date.now();
  await server.stop();
  log(
    `service stopped in ${((Date.now() - stopping) / 1000).toFixed(1)} s${flag('profile') ? ` (CPU profiles in ${path.relative(ROOT, profileDir)})` : ''}`,
  );

  // ---- sweep: the expiry job over overdue orders
  if (wants('sweep')) {
    log(`preparing: ${P.sweep.toLocaleString()} overdue orders`);
    await insertOrders(db.sql, { tag: 'sweep', count: P.sweep, users: P.users, kind: 'overdue' });
    const [{ due }] = await db.sql<{ due: number }[]>`
      SELECT count(*)::int AS due FROM orders WHERE status = 'pending' AND expires_at <= now()`;
    const handle = openDatabase({
      url: db.url,
      poolMax: config.DB_POOL_MAX,
      lockWaitMs: config.LOCK_WAIT_MS,
      statementTimeoutMs: config.STATEMENT_TIMEOUT_MS,
      connectTimeoutS: config.DB_CONNECT_TIMEOUT_S,
    });
    log(
      `▶ sweep: expire-overdue runOnce over ${due.toLocaleString()} overdue orders (batch ${config.SWEEP_BATCH_SIZE}, ${config.SWEEP_CONCURRENCY} at once)`,
    );
    const cpu = await cpuWindow(undefined, dbPids);
    const t = performance.now();
    const { expired } = await sweepOverdue(handle.db, config.SWEEP_BATCH_SIZE, config.SWEEP_CONCURRENCY);
    const seconds = (performance.now() - t) / 1000;
    const split = await cpu.stop();
    await handle.close();
    log(
      `  sweep: ${expired.toLocaleString()} expired and refunded in ${seconds.toFixed(2)} s (${Math.round(expired / seconds).toLocaleString()} orders/s)`,
    );
    rows.push({
      scenario: `sweep (${label(expired)} overdue)`,
      rps: expired / seconds,
      target: `${label(P.sweep)} in ≤ 5 s`,
      met: SMOKE ? undefined : seconds <= 5 && expired >= P.sweep,
      cpu: { ...split, server: split.loadgen, loadgen: 0 },
      note: `wall time ${seconds.toFixed(2)} s; req/s column = orders expired per second; the job runs in the bench process (CPU "srv")`,
    });
    const [{ left }] = await db.sql<{ left: number }[]>`
      SELECT count(*)::int AS left FROM orders WHERE status = 'pending' AND expires_at <= now()`;
    record(left === 0 && expired >= due, [`sweep left ${left} overdue orders (expired ${expired} of ${due})`]);
    await audit(db.sql);
  }

  // ---- report
  rows.push({ scenario: 'server RSS, peak over all runs', rssMb: serverRss, target: '≤ 200 MB', met: serverRss <= 200 });
  for (const name of ['create', 'join']) {
    const row = rows.find((r) => r.scenario === name);
    const tps = pgbenchRows[name];
    if (!row || row.rps === undefined) continue;
    row.target = targetOf(tps ?? NaN);
    row.met =
      row.rps >= 3000 &&
      (row.p99 ?? Infinity) <= 50 &&
      row.errors === 0 &&
      row.unexpected === 0 &&
      (tps === undefined || row.rps >= tps / 2);
    if (tps) row.ratio = `${(row.rps / tps).toFixed(2)} of pgbench · ${row.ratio}`;
  }
  // The steps have no team target yet: their ratio to the database ceiling is the figure.
  for (const { action } of STEPS) {
    const row = rows.find((r) => r.scenario === action);
    const tps = pgbenchRows[action];
    if (row?.rps !== undefined && tps) row.ratio = `${(row.rps / tps).toFixed(2)} of pgbench · ${row.ratio}`;
  }
  if (SMOKE) for (const row of rows) row.met = undefined;
  // The team's targets for the service against the floor: reads within 1.4×, actions within 1.6×.
  const floorPairs = (['get', 'get-304', 'join', 'create'] as const)
    .map((scenario) => ({
      scenario,
      rounds: Array.from({ length: FLOOR_ROUNDS }, (_, i) => {
        const name = i === 0 ? scenario : `${scenario} #${i + 1}`;
        return { service: rows.find((r) => r.scenario === name), floor: rows.find((r) => r.scenario === `floor: ${name}`) };
      }).filter((round) => round.service),
      target: scenario.startsWith('get') ? 1.4 : 1.6,
    }))
    .filter((pair) => pair.rounds.length);
  const minutes = ((Date.now() - started) / 60000).toFixed(1);
  const command = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  const report = [
    `# co-order bench ${SMOKE ? '(smoke) ' : ''}${new Date().toISOString()}`,
    '',
    `commit ${commit}${dirty}; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; node ${process.version}; ${db.where}; ` +
      `load average ${startLoad} at the start, ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} at the end (2 cores: above 2, other processes share them); ` +
      `${CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s per scenario; ${P.users.toLocaleString()} users; took ${minutes} min.`,
    `command: \`${command}\`${process.env.DATABASE_URL ? ` with DATABASE_URL=${redact(process.env.DATABASE_URL)}` : ''}`,
    '',
    table(rows),
    ...(floorPairs.length ? ['', '## Server CPU per request against the floor', '', floorTable(floorPairs, !SMOKE)] : []),
    '',
    '## Audit',
    ...auditLines.map((l) => `- ${l}`),
    ...(pgbench ? [] : ['', 'pgbench not found: database ceilings skipped (install postgresql-client or the server package).']),
  ].join('\n');
  log(`\n${report}\n`);
  const file = path.join(RESULTS, `${RUN}${SMOKE ? '-smoke' : ''}`);
  writeFileSync(`${file}.md`, `${report}\n`);
  writeFileSync(`${file}.json`, `${JSON.stringify({ run: RUN, smoke: SMOKE, commit, rows, audit: auditLines }, null, 2)}\n`);
  log(`written: ${path.relative(ROOT, file)}.md and .json`);
  // Kept whenever the run fails (a smoke run fails on unexpected answers too: a server that died says why there).
  if (!auditFailed && !(SMOKE && unexpectedTotal > 0) && !flag('profile')) rmSync(logFile, { force: true });
  else log(`server log kept: ${logFile}`);
  await db.drop();
  if (auditFailed) {
    log('✗ the ledger audit failed: a fast wrong answer is a failure');
    process.exit(1);
  }
  if (SMOKE && unexpectedTotal > 0) {
    log(`✗ smoke: ${unexpectedTotal} unexpected answers or errors`);
    process.exit(1);
  }

  // Helpers that need the run's state.
  async function pendingBatch(tag: string, count: number, creators = P.users): Promise<{ tag: string; ids: string[] }> {
    log(`preparing: ${count.toLocaleString()} pending orders for ${tag}`);
    const batch: OrderBatch = { tag: `${tag}-${TAG}`, count, users: creators, kind: 'pending', area: ELSEWHERE };
    await insertOrders(db.sql, batch);
    return { tag: batch.tag, ids: Array.from({ length: count }, (_, g) => md5Uuid(`bench-order-${batch.tag}-${g}`)) };
  }

  /** A batch of orders already taken to `kind` (matched, ready, picked up), both participants charged. */
  async function stageBatch(tag: string, kind: Step['kind'], count: number): Promise<{ tag: string; ids: string[] }> {
    log(`preparing: ${count.toLocaleString()} ${kind} orders for ${tag}`);
    const batch: OrderBatch = { tag: `${tag}-${TAG}`, count, users: P.users, kind, area: ELSEWHERE };
    await insertOrders(db.sql, batch);
    return { tag: batch.tag, ids: Array.from({ length: count }, (_, g) => md5Uuid(`bench-order-${batch.tag}-${g}`)) };
  }

  async function dbCeiling(action: 'create' | 'join' | Step['action'], http: LoadResult, row: Row): Promise<number | undefined> {
    await stopFloor();
    if (!pgbench) {
      row.note = 'pgbench not found: no database ceiling';
      return undefined;
    }
    // The answer the service stored for one of its own requests: the same bytes go into the key row.
    const [answer] = await db.sql<{ body: string; headers: string }[]>`
      SELECT response_body AS body, response_headers::text AS headers FROM idempotency_keys
      WHERE key LIKE ${`${action}-${TAG}-%`} AND response_status BETWEEN 200 AND 299 LIMIT 1`;
    const variables: Record<string, string | number> = {
      users: P.users,
      half: Math.floor(P.users / 2),
      stores: BENCH_STORES,
      menus: MENUS_PER_STORE,
      riders: RIDERS,
      clients: CONNECTIONS,
      i: 0,
      body: answer?.body ?? '{}',
      headers: answer?.headers ?? '{}',
    };
    if (action === 'join') {
      // Pending orders for every transaction pgbench can run (order g goes to client g % clients).
      const batch = await pendingBatch('pgbench-join', P.actionOrders);
      variables.prefix = `bench-order-${batch.tag}-`;
    }
    const step = STEPS.find((s) => s.action === action);
    if (step) {
      // Orders in the step's starting state for every transaction pgbench can run.
      const batch = await stageBatch(`pgbench-${action}`, step.kind, P.stepOrders);
      variables.prefix = `bench-order-${batch.tag}-`;
    }
    const script = path.join(ROOT, `loadtest/pgbench/${action}.sql`);
    log(`▶ pgbench ${action}: ${P.pgbenchS}s at ${CONNECTIONS} clients (${path.relative(ROOT, script)})`);
    const cpu = await cpuWindow(undefined, dbPids);
    const result = await runPgbench(pgbench, db.url, script, { clients: CONNECTIONS, durationS: P.pgbenchS, variables });
    const split = await cpu.stop();
    log(
      `  pgbench ${action}: ${Math.round(result.tps)} tps, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, failed ${result.failed}`,
    );
    rows.push({
      scenario: `ceiling: pgbench ${action} SQL`,
      rps: result.tps,
      p50: result.p50,
      p99: result.p99,
      errors: result.failed,
      ratio: `1.00 (the DB ceiling for ${action})`,
      cpu: { ...split, server: 0 },
      note: `${result.transactions} transactions; the service reached ${(http.rps / result.tps).toFixed(2)} of it`,
    });
    await audit(db.sql);
    return result.tps;
  }
}

interface Step {
  action: 'accept' | 'pick-up' | 'deliver';
  /** The state of the orders it acts on (an order batch's kind), and their version there. */
  kind: 'matched' | 'ready' | 'picked_up';
  version: number;
  /** Who sends it for order g of the batch: the staff of its store, or its rider (lib/data.ts). */
  actor: (g: number) => number;
}

const STEPS: Step[] = [
  { action: 'accept', kind: 'matched', version: 2, actor: (g) => staffOf((g * 104729) % BENCH_STORES) },
  { action: 'pick-up', kind: 'ready', version: 4, actor: riderOf },
  { action: 'deliver', kind: 'picked_up', version: 5, actor: riderOf },
];

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

main().catch(async (error: unknown) => {
  console.error(error);
  // Stop what the run started (a stopped process stops again harmlessly), then fail.
  for (const cleanup of cleanups) await cleanup().catch(() => {});
  process.exit(1);
});
