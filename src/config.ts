import { isIP } from 'node:net';
import { z } from 'zod';

/** "quota/window": at most `quota` requests in `window` seconds. */
const rateLimitFromEnv = z
  .string()
  .regex(/^[1-9][0-9]{0,8}\/[1-9][0-9]{0,5}$/, 'must be quota/window_seconds, e.g. 30/60')
  .transform((text) => {
    const [quota, windowSeconds] = text.split('/').map(Number);
    return { quota, windowSeconds };
  });

function isAddressOrRange(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

/** No access token lives longer than this, whatever the configuration says. */
export const ACCESS_TOKEN_MAX_SECONDS = 900;

/** Every decision-bearing constant lives here, with its reason, and may be overridden by env. */
const booleanFromEnv = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/**
 * The defaults the API document states (its prose is built from these). Each may be overridden by
 * env, so the document calls them defaults.
 */
export const DEFAULTS = {
  // Short: a stolen access token is useful for minutes; the refresh token renews it.
  ACCESS_TOKEN_TTL_SECONDS: 900,
  // A refresh token unused this long is dead; each use replaces it with a new one.
  REFRESH_TOKEN_TTL_DAYS: 30,
  // How long the product waits for a neighbour to join.
  ORDER_TTL_MINUTES: 30,
  // Neighbours within this distance share one delivery.
  NEARBY_DEFAULT_RADIUS_M: 300,
  // Sign-up grant, written as a ledger row.
  SIGNUP_GRANT_KRW: 50_000,
  // Clients retry within minutes; a day covers any sane retry policy.
  IDEMPOTENCY_RETENTION_HOURS: 24,
  // Per minute: a person signs in or refreshes a few times an hour (per IP: a household or an
  // office shares one); moves money a few times a day; reads as fast as an app polls.
  RATE_LIMIT_AUTH: '30/60',
  RATE_LIMIT_MONEY: '30/60',
  RATE_LIMIT_ACTIONS: '120/60',
  RATE_LIMIT_READS: '600/60',
  // A store that has not answered a matched order by then has rejected it in effect.
  STORE_ACCEPT_MINUTES: 10,
  // Quotas: a neighbour orders lunch, not a neighbourhood's worth of pending orders.
  MAX_OPEN_ORDERS: 3,
  // How far a store delivers when its own row says nothing: beyond 3 km it is not a neighbourhood.
  DELIVERY_RADIUS_M: 3000,
  // A prepaid wallet is for lunches: a cap bounds what a stolen session or a mistake can park in it.
  WALLET_BALANCE_CAP_KRW: 2_000_000,
  // A confirm whose answer we never got is asked about after this long: longer than any confirm
  // takes, short enough that a person waiting for their credit hardly notices.
  PAYMENTS_SETTLE_AFTER_SECONDS: 30,
  // Live status: a change reaches a listener within this (plus its commit), at one query per
  // interval per instance while anyone listens.
  EVENTS_POLL_MS: 250,
  // A comment line this often keeps proxies and load balancers from closing an idle stream.
  EVENTS_HEARTBEAT_SECONDS: 15,
  // A client away longer than this re-reads its orders instead of resuming.
  EVENTS_RETENTION_HOURS: 24,
  // A person has a phone, a tablet and a laptop or two: more streams per instance is abuse.
  EVENTS_MAX_STREAMS_PER_USER: 5,
  // What one instance holds in npm start's heap (about 30 kB of it a stream, most of that hono's
  // streamSSE and the Node server's): past it a new stream is refused, never the instance's memory.
  EVENTS_MAX_STREAMS: 6000,
} as const;

/** A great-circle distance never exceeds half the Earth's circumference: a radius this large limits nothing. */
export const UNLIMITED_RADIUS_M = 20_037_509;

const configSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    // Unset: 127.0.0.1 outside production (a laptop's development server is not a public one).
    HOST: z.string().min(1).optional(),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    // No DATABASE_URL: start an embedded PostgreSQL whose data survives restarts in EMBEDDED_PG_DIR.
    DATABASE_URL: z.string().url().optional(),
    EMBEDDED_PG_DIR: z.string().default('.data/postgres'),
    EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
    // Enough connections to keep two cores busy; more only adds contention in PostgreSQL.
    DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(16),
    // A request never waits on a row or key lock longer than this: it gets 409 + Retry-After instead.
    LOCK_WAIT_MS: z.coerce.number().int().min(50).max(60_000).default(2000),
    // Bounds any single statement so a request can never hang on the database.
    STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
    // How long a request waits for a free connection or a new one before answering 503.
    DB_CONNECT_TIMEOUT_S: z.coerce.number().int().min(1).max(60).default(3),
    // A JWK Set of private EC P-256 keys (each with a kid): the first signs access tokens, all of
    // them verify. Required in production; elsewhere, unset, a key is generated on first start and
    // kept in the database (a restart keeps sessions valid).
    AUTH_SIGNING_KEYS: z
      .string()
      .optional()
      .transform((text, ctx) => (text === undefined ? undefined : parseSigningKeys(text, ctx))),
    // The OpenID providers people sign in with, by name (e.g. google,kakao); each name N is
    // configured by OIDC_N_ISSUER, OIDC_N_CLIENT_ID, OIDC_N_CLIENT_SECRET, OIDC_N_REDIRECT_URI.
    OIDC_PROVIDERS: z
      .string()
      .optional()
      .transform((list) =>
        (list ?? '')
          .split(',')
          .map((name) => name.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'each provider name is lower-case letters, digits or _'))),
    // Development login: on outside production unless switched off; never in production.
    AUTH_DEV_LOGIN: booleanFromEnv.optional(),
    // Rate limits, "quota/window seconds" per principal: sign-in per client IP, the rest per user.
    // A neighbourhood's use stays far below them; a script does not. The race harness and the
    // bench raise them through these variables.
    RATE_LIMIT_AUTH: rateLimitFromEnv.prefault(DEFAULTS.RATE_LIMIT_AUTH),
    RATE_LIMIT_MONEY: rateLimitFromEnv.prefault(DEFAULTS.RATE_LIMIT_MONEY),
    RATE_LIMIT_ACTIONS: rateLimitFromEnv.prefault(DEFAULTS.RATE_LIMIT_ACTIONS),
    RATE_LIMIT_READS: rateLimitFromEnv.prefault(DEFAULTS.RATE_LIMIT_READS),
    // The reverse proxies whose X-Forwarded-For is believed (addresses or CIDR ranges,
    // comma-separated); unset, the client is the socket's peer.
    TRUST_PROXY: z
      .string()
      .optional()
      .transform((list) =>
        (list ?? '')
          .split(',')
          .map((entry) => entry.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().refine(isAddressOrRange, 'each entry is an IP address or a CIDR range'))),
    // The bearer token GET /metrics requires; unset, /metrics answers nobody.
    METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
    // Browser origins allowed to call the API (comma-separated); unset, CORS is off.
    CORS_ORIGINS: z
      .string()
      .optional()
      .transform((list) =>
        (list ?? '')
          .split(',')
          .map((origin) => origin.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'each origin is scheme://host[:port], no path'))),
    ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(ACCESS_TOKEN_MAX_SECONDS).default(DEFAULTS.ACCESS_TOKEN_TTL_SECONDS),
    REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(DEFAULTS.REFRESH_TOKEN_TTL_DAYS),
    // Unset: demo stores are seeded outside production only.
    SEED_DEMO_DATA: booleanFromEnv.optional(),
    ORDER_TTL_MINUTES: z.coerce
      .number()
      .int()
      .min(1)
      .max(24 * 60)
      .default(DEFAULTS.ORDER_TTL_MINUTES),
    STORE_ACCEPT_MINUTES: z.coerce
      .number()
      .int()
      .min(1)
      .max(24 * 60)
      .default(DEFAULTS.STORE_ACCEPT_MINUTES),
    NEARBY_DEFAULT_RADIUS_M: z.coerce.number().int().min(1).max(3000).default(DEFAULTS.NEARBY_DEFAULT_RADIUS_M),
    // Pending orders one user may have created and not yet seen expire (the harnesses raise it).
    MAX_OPEN_ORDERS: z.coerce.number().int().min(1).max(10_000).default(DEFAULTS.MAX_OPEN_ORDERS),
    // For stores whose row has no delivery_radius_m; UNLIMITED_RADIUS_M or more delivers anywhere.
    DELIVERY_RADIUS_M: z.coerce.number().int().min(1).max(UNLIMITED_RADIUS_M).default(DEFAULTS.DELIVERY_RADIUS_M),
    // Top-ups only: a refund or the sign-up grant is never refused for it.
    WALLET_BALANCE_CAP_KRW: z.coerce.number().int().min(1).max(1_000_000_000_000).default(DEFAULTS.WALLET_BALANCE_CAP_KRW),
    SIGNUP_GRANT_KRW: z.coerce.number().int().min(0).max(10_000_000).default(DEFAULTS.SIGNUP_GRANT_KRW),
    IDEMPOTENCY_RETENTION_HOURS: z.coerce
      .number()
      .int()
      .min(1)
      .max(24 * 30)
      .default(DEFAULTS.IDEMPOTENCY_RETENTION_HOURS),
    // Sweepers run often so an overdue order is refunded within seconds.
    SWEEP_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
    SWEEP_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
    // Batches the expiry sweeper works on at once (each on its own connection): two keep both
    // cores of a small database busy; batches never overlap (SKIP LOCKED).
    SWEEP_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(2),
    // Set false to run instances that serve requests but leave the jobs to others.
    JOBS_ENABLED: booleanFromEnv.default(true),
    // Keys are purged hourly: retention is in hours, so finer is pointless.
    PURGE_CRON: z.string().default('17 * * * *'),
    MAX_BODY_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(10 * 1024 * 1024)
      .default(64 * 1024),
    SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(60_000).default(10_000),
    // The payment provider (its confirm API). Unset outside production: top-ups are credited at
    // once, as a demo, and say so. Required in production, with both secrets.
    PAYMENTS_API_URL: z
      .string()
      .url()
      .refine((url) => /^https?:\/\//.test(url), 'must be an http(s) URL')
      .optional(),
    PAYMENTS_SECRET_KEY: z.string().min(1).optional(),
    // Signs the provider's webhooks (HMAC-SHA256): long enough not to be guessed.
    PAYMENTS_WEBHOOK_SECRET: z.string().min(16, 'PAYMENTS_WEBHOOK_SECRET must be at least 16 characters').optional(),
    // A top-up left processing this long is settled by asking the provider.
    PAYMENTS_SETTLE_AFTER_SECONDS: z.coerce.number().int().min(1).max(86_400).default(DEFAULTS.PAYMENTS_SETTLE_AFTER_SECONDS),
    EVENTS_POLL_MS: z.coerce.number().int().min(20).max(10_000).default(DEFAULTS.EVENTS_POLL_MS),
    EVENTS_HEARTBEAT_SECONDS: z.coerce.number().int().min(1).max(300).default(DEFAULTS.EVENTS_HEARTBEAT_SECONDS),
    EVENTS_RETENTION_HOURS: z.coerce
      .number()
      .int()
      .min(1)
      .max(24 * 365)
      .default(DEFAULTS.EVENTS_RETENTION_HOURS),
    EVENTS_MAX_STREAMS_PER_USER: z.coerce.number().int().min(1).max(100_000).default(DEFAULTS.EVENTS_MAX_STREAMS_PER_USER),
    EVENTS_MAX_STREAMS: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULTS.EVENTS_MAX_STREAMS),
    // Past this a provider call counts as unanswered (the top-up stays processing; nothing is lost).
    PAYMENTS_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
    // The settler asks about one top-up this many times (backing off) before it gives up loudly.
    PAYMENTS_SETTLE_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.PAYMENTS_API_URL) {
      for (const name of ['PAYMENTS_SECRET_KEY', 'PAYMENTS_WEBHOOK_SECRET'] as const) {
        if (!cfg[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'required with PAYMENTS_API_URL' });
      }
    }
    if (cfg.NODE_ENV !== 'production') return;
    if (!cfg.PAYMENTS_API_URL) {
      ctx.addIssue({ code: 'custom', path: ['PAYMENTS_API_URL'], message: 'required in production (credit enters only through payments)' });
    }
    if (!cfg.AUTH_SIGNING_KEYS) ctx.addIssue({ code: 'custom', path: ['AUTH_SIGNING_KEYS'], message: 'required in production' });
    if (cfg.AUTH_DEV_LOGIN) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_DEV_LOGIN'], message: 'the passwordless development login cannot be on in production' });
    }
  })
  .transform((cfg) => {
    const production = cfg.NODE_ENV === 'production';
    return {
      ...cfg,
      HOST: cfg.HOST ?? (production ? '0.0.0.0' : '127.0.0.1'),
      AUTH_DEV_LOGIN: cfg.AUTH_DEV_LOGIN ?? !production,
      SEED_DEMO_DATA: cfg.SEED_DEMO_DATA ?? !production,
    };
  });

export type Config = z.infer<typeof configSchema> & { oidcProviders: OidcProviderConfig[] };

export interface OidcProviderConfig {
  name: string;
  issuer: URL;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

const oidcProviderSchema = (production: boolean) =>
  z.object({
    ISSUER: z
      .string()
      .url()
      .refine((url) => url.startsWith('https://') || (!production && url.startsWith('http://')), {
        message: production ? 'must be an https URL' : 'must be an http(s) URL',
      }),
    CLIENT_ID: z.string().min(1),
    CLIENT_SECRET: z.string().min(1),
    REDIRECT_URI: z.string().url(),
  });

/** Each named provider's four variables (OIDC_<NAME>_…), checked together with the rest. */
function oidcProviders(names: string[], production: boolean, env: NodeJS.ProcessEnv, issues: string[]): OidcProviderConfig[] {
  return names.flatMap((name) => {
    const prefix = `OIDC_${name.toUpperCase()}_`;
    const parsed = oidcProviderSchema(production).safeParse({
      ISSUER: env[`${prefix}ISSUER`],
      CLIENT_ID: env[`${prefix}CLIENT_ID`],
      CLIENT_SECRET: env[`${prefix}CLIENT_SECRET`],
      REDIRECT_URI: env[`${prefix}REDIRECT_URI`],
    });
    if (!parsed.success) {
      issues.push(...parsed.error.issues.map((i) => `  ${prefix}${i.path.join('.')}: ${i.message}`));
      return [];
    }
    const { ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI } = parsed.data;
    return [{ name, issuer: new URL(ISSUER), clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: REDIRECT_URI }];
  });
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  const issues = parsed.success ? [] : parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
  const providers = parsed.success ? oidcProviders(parsed.data.OIDC_PROVIDERS, parsed.data.NODE_ENV === 'production', env, issues) : [];
  if (!parsed.success || issues.length > 0) throw new Error(`Invalid configuration:\n${issues.join('\n')}`);
  return { ...parsed.data, oidcProviders: providers };
}

/** A private EC P-256 JWK with its key id, as AUTH_SIGNING_KEYS lists them. */
export interface SigningJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  d: string;
  kid: string;
}

const signingJwkSchema = z.object({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: z.string().min(1),
  y: z.string().min(1),
  d: z.string().min(1, 'each key must be a private key (with d)'),
  kid: z.string().min(1).max(100),
});

function parseSigningKeys(text: string, ctx: z.RefinementCtx): SigningJwk[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a JWK Set in JSON: {"keys":[…]}' });
    return z.NEVER;
  }
  const parsed = z.object({ keys: z.array(signingJwkSchema.passthrough()).min(1) }).safeParse(json);
  if (!parsed.success) {
    ctx.addIssue({ code: 'custom', message: `must be a JWK Set of private EC P-256 keys with kid: ${parsed.error.issues[0].message}` });
    return z.NEVER;
  }
  const keys = parsed.data.keys.map(({ kty, crv, x, y, d, kid }) => ({ kty, crv, x, y, d, kid }));
  if (new Set(keys.map((k) => k.kid)).size !== keys.length) ctx.addIssue({ code: 'custom', message: 'each key needs its own kid' });
  return keys;
}

/** The rate-limit policies by class, as the configuration sets them. */
export function rateLimitPolicies(config: Config) {
  return {
    auth: config.RATE_LIMIT_AUTH,
    money: config.RATE_LIMIT_MONEY,
    actions: config.RATE_LIMIT_ACTIONS,
    reads: config.RATE_LIMIT_READS,
  };
}

/** The default policies, as the API document states them (whatever this server is set to). */
export function defaultRateLimitPolicies() {
  return rateLimitPolicies(loadConfig({}));
}
