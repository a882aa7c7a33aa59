/**
 * The world the harness builds for itself, without vitest: a fresh database on DATABASE_URL's
 * server (or an embedded PostgreSQL), migrated and seeded with the service's own code, two service
 * instances on it, the payment-provider simulator on loopback, and a crowd of users with dev
 * tokens and credit, ordering around one point. With `urls` it drives servers someone else runs
 * instead, over HTTP only.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { createCoOrderClient, type CoOrderClient, type Schemas } from '../../openapi/client.js';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { seedDemoData } from '../../src/db/seed.js';
import { startPaymentProvider, type PaymentProviderSim } from '../support/payment-provider.js';
import { databaseUrl, freePort } from '../support/urls.js';
import { sharesOf } from './audit.js';
import { actorClients, api, is2xx, isBusy, type Actor, type Answer, type CreateBody, type OrderItem } from './http.js';
import { launchInstance, type Instance } from './instance.js';
import { DB_CONNECT_TIMEOUT_S, type ScenarioStats } from './stats.js';

/** Everyone orders around Jeonbuk National University, within this many metres of one point. */
const CENTRE = { lat: 35.8468, lon: 127.1297 };
const SPREAD_M = 150;

export interface Environment {
  baseUrls: string[];
  /** Own mode only: the service processes, the database and a direct connection to it. */
  own?: {
    instances: Instance[];
    databaseName: string;
    /** To the harness database: setup that the API cannot do (moving a clock) and the audit. */
    sql: postgres.Sql;
    /** To the server's maintenance database: faults on the harness database. */
    serverSql: postgres.Sql;
    /** The service's own data layer, for running a sweeper's runOnce() next to the instances. */
    database: DatabaseHandle;
    /**
     * The payment provider (test/support/payment-provider.ts). The instances run without one (top-ups
     * are credited at once, as a demo, which keeps the wallets of the order scenarios simple) until
     * a scenario restarts them pointed at it; the audit checks its payments after every scenario.
     */
    provider: PaymentProviderSim;
  };
  close(options?: { keepDatabase?: boolean }): Promise<void>;
}

export interface EnvironmentOptions {
  /** Servers run by someone else; the harness then works over HTTP only. */
  urls?: string[];
  /** The PostgreSQL server for a database of the harness's own; default DATABASE_URL, else embedded. */
  serverUrl?: string;
  /** Extra environment for the instances. */
  instanceEnv?: Record<string, string>;
  log?: (line: string) => void;
}

/** int8 as number, as the service reads it: KRW amounts and ids are far below 2^53. */
const NUMERIC_TYPES = { bigint: { to: 20, from: [20], serialize: String, parse: Number } };

export async function createEnvironment(options: EnvironmentOptions = {}): Promise<Environment> {
  if (options.urls?.length) {
    return { baseUrls: options.urls.map((u) => u.replace(/\/+$/, '')), close: async () => {} };
  }
  const log = options.log ?? (() => {});
  let embedded: EmbeddedServer | undefined;
  let embeddedDir: string | undefined;
  let serverUrl = options.serverUrl ?? process.env.DATABASE_URL;
  if (!serverUrl) {
    embeddedDir = path.join(tmpdir(), `co-order-race-pg-${process.pid}`);
    log(`no DATABASE_URL: starting an embedded PostgreSQL in ${embeddedDir}`);
    embedded = await startEmbeddedPostgres(embeddedDir, await freePort());
    serverUrl = embedded.url;
  }
  const databaseName = `co_order_race_${process.pid}_${Date.now() % 1_000_000}`;
  const serverSql = postgres(serverUrl, { max: 2, onnotice: () => {} });
  await serverSql.unsafe(`CREATE DATABASE ${databaseName}`);
  const url = databaseUrl(serverUrl, databaseName);
  await migrate(url);
  const database = openDatabase({ url, poolMax: 2, lockWaitMs: 2000, statementTimeoutMs: 30_000, connectTimeoutS: 5 });
  await seedDemoData(database.db);
  const sql = postgres(url, { max: 4, onnotice: () => {}, types: NUMERIC_TYPES, connection: { application_name: 'co-order-race-audit' } });
  const provider = await startPaymentProvider();

  const env = {
    // Both instances sweep every second, as several production instances would at once.
    JOBS_ENABLED: 'true',
    SWEEP_INTERVAL_SECONDS: '1',
    // A polite share of a PostgreSQL server that other people use too.
    DB_POOL_MAX: '8',
    DB_CONNECT_TIMEOUT_S: String(DB_CONNECT_TIMEOUT_S),
    // Two quotas raised: a few actors open and join orders as fast as they can (far more open
    // orders each than a person has) and refill their wallets with 1,000,000 KRW top-ups. The
    // delivery radius stays the default: every point is within 150 m of the store's neighbourhood.
    MAX_OPEN_ORDERS: '10000',
    WALLET_BALANCE_CAP_KRW: '1000000000000',
    ...options.instanceEnv,
  };
  const ports = [await freePort(), await freePort()];
  let instances: Instance[] = [];
  const dropDatabase = async () => {
    await serverSql.unsafe(`ALTER DATABASE ${databaseName} ALLOW_CONNECTIONS true`).catch(() => {});
    await serverSql.unsafe(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
  };
  try {
    instances = await Promise.all(
      ports.map((port, i) =>
        launchInstance({
          name: `instance ${i}`,
          databaseUrl: url,
          port,
          env,
          onCrash: (name) => (harnessAborted.reason = `${name} crashed`),
        }),
      ),
    );
  } catch (error) {
    await Promise.allSettled(instances.map((i) => i.stop()));
    await provider.close();
    await sql.end();
    await database.close();
    await dropDatabase();
    await serverSql.end();
    await embedded?.stop();
    throw error;
  }
  log(`database ${databaseName}; instances at ${instances.map((i) => i.baseUrl).join(', ')}`);
  return {
    baseUrls: instances.map((i) => i.baseUrl),
    own: { instances, databaseName, sql, serverSql, database, provider },
    close: async ({ keepDatabase = false } = {}) => {
      await Promise.allSettled(instances.map((i) => i.stop(5000)));
      await provider.close();
      await sql.end({ timeout: 5 });
      await database.close().catch(() => {});
      if (keepDatabase) log(`kept database ${databaseName} for inspection`);
      else await dropDatabase();
      await serverSql.end({ timeout: 5 });
      await embedded?.stop();
      if (embeddedDir) await rm(embeddedDir, { recursive: true, force: true });
    },
  };
}

interface Menu {
  id: string;
  price: number;
}

export interface Store {
  id: string;
  minimum: number;
  tip: number;
  menus: Menu[];
}

/** What clients were told succeeded, for the audit to find as effects. */
export interface Claim {
  /** `topup`: a credit (a demo top-up's 201, a confirm's 200); `topup_answer`: a 201 or 202 naming a top-up not yet credited. */
  kind: 'create' | 'join' | 'cancel' | 'expire' | 'topup' | 'topup_answer' | 'accept' | 'reject' | 'pick_up' | 'deliver';
  user_id: string;
  order_id?: string;
  version?: number;
  entry_id?: number;
  amount?: number;
  top_up_id?: string;
}

export class Claims {
  private readonly seen = new Map<string, Claim>();

  private add(claim: Claim): void {
    this.seen.set(`${claim.kind}/${claim.user_id}/${claim.order_id ?? claim.entry_id ?? claim.top_up_id}/${claim.version ?? ''}`, claim);
  }

  /** Records what a 2xx answer claims; other answers claim nothing. */
  fromAnswer(kind: Claim['kind'], actor: Actor, answer: Answer<unknown>): void {
    if (!is2xx(answer.status)) return;
    if (kind === 'topup') {
      const body = answer.body as { entry: { id: number; amount: number } };
      this.add({ kind, user_id: actor.id, entry_id: body.entry.id, amount: body.entry.amount });
    } else if (kind === 'topup_answer') {
      this.add({ kind, user_id: actor.id, top_up_id: (answer.body as { id: string }).id });
    } else {
      const body = answer.body as { id: string; version: number };
      this.add({ kind, user_id: actor.id, order_id: body.id, version: body.version });
    }
  }

  all(): Claim[] {
    return [...this.seen.values()];
  }
}

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

/** Whether an answer says "nothing decided, ask again": no connection, a 503, or a 409 busy. */
export function retryable(answer: Answer<unknown>): boolean {
  return (
    answer.status === 'network' || answer.status === 'aborted' || answer.status === 'timeout' || answer.status === 503 || isBusy(answer)
  );
}

/** Set when the run cannot go on (an instance crashed): clients stop retrying at once. */
export const harnessAborted: { reason?: string } = {};

/** The longest a client keeps retrying one request before the harness calls it lost. */
const GIVE_UP_AFTER_MS = 90_000;

/**
 * Sends a request again (same key: the caller's closure holds it) until it gets an answer that
 * decides something. Honours Retry-After, capped so the harness keeps pressing. Every attempt is
 * recorded; never getting a deciding answer is an anomaly.
 */
export async function untilAnswered<B>(
  stats: ScenarioStats,
  what: string,
  instances: number,
  attempt: (instance: number, attemptNo: number) => Promise<Answer<B>>,
): Promise<Answer<B> | undefined> {
  const started = Date.now();
  for (let n = 0; ; n++) {
    const instance = instances > 1 ? randomInt(0, instances - 1) : 0;
    const answer = stats.record(await attempt(instance, n), what);
    if (!retryable(answer)) return answer;
    if (harnessAborted.reason !== undefined) {
      stats.anomaly(`${what}: gave up, ${harnessAborted.reason}`);
      return undefined;
    }
    if (Date.now() - started > GIVE_UP_AFTER_MS) {
      stats.anomaly(
        `${what}: no deciding answer in ${GIVE_UP_AFTER_MS / 1000} s (last ${answer.status} ${answer.code ?? answer.failure ?? ''})`,
      );
      return undefined;
    }
    if (answer.status !== 'aborted') {
      const retryAfterMs = answer.retryAfter ? Number(answer.retryAfter) * 1000 : 50;
      await pause(Math.min(retryAfterMs, 100 + n * 20) * (0.5 + Math.random()));
    }
  }
}

/**
 * Keeps every user able to pay: a conservative estimate of each balance (charges are subtracted
 * before they are attempted, refunds never added), refreshed from GET /users/me and topped up
 * through the API when it runs low. Users are serialised here, so the estimate stays a lower bound.
 */
class Wallets {
  private readonly estimate = new Map<string, number>();
  private readonly queue = new Map<string, Promise<unknown>>();

  constructor(private readonly world: World) {}

  know(actor: Actor, credit: number): void {
    this.estimate.set(actor.id, credit);
  }

  reserve(stats: ScenarioStats, actor: Actor, amount: number): Promise<void> {
    const previous = this.queue.get(actor.id) ?? Promise.resolve();
    const next = previous.then(() => this.doReserve(stats, actor, amount));
    this.queue.set(
      actor.id,
      next.catch(() => {}),
    );
    return next;
  }

  private async doReserve(stats: ScenarioStats, actor: Actor, amount: number): Promise<void> {
    const floor = 50_000;
    let estimate = this.estimate.get(actor.id) ?? 0;
    if (estimate - amount < floor) {
      const me = await untilAnswered(stats, 'refresh balance', this.world.instances, (i) => api.me(actor, i));
      if (me?.status !== 200) throw new Error(`GET /users/me answered ${me?.status}`);
      estimate = (me.body as { credit: number }).credit;
      stats.count('wallet checks (GET /users/me)');
    }
    if (estimate - amount < floor) {
      const key = `wallet-${randomUUID()}`;
      const topUp = await untilAnswered(stats, 'wallet top-up', this.world.instances, (i) => api.topUp(actor, i, key, 1_000_000));
      if (topUp?.status !== 201) throw new Error(`top-up answered ${topUp?.status}`);
      this.world.claims.fromAnswer('topup', actor, topUp);
      estimate = (topUp.body as { credit: number }).credit;
      stats.count('wallet refills (201 top-ups)');
    }
    this.estimate.set(actor.id, estimate - amount);
  }
}

type DevLogin = { email: string; name: string; staff_of?: string[]; rider?: boolean };

async function devLogin(anonymous: ReturnType<typeof createCoOrderClient>, baseUrls: string[], body: DevLogin): Promise<Actor> {
  const { data, error } = await anonymous.POST('/auth/dev/token', { body });
  if (!data) throw new Error(`dev login failed: ${JSON.stringify(error)}`);
  return { id: data.user.id, token: data.access_token, clients: actorClients(baseUrls, data.access_token) };
}

export class World {
  readonly claims = new Claims();
  readonly wallets = new Wallets(this);
  /** Every order the harness opened (for the HTTP audit). */
  readonly orderIds = new Set<string>();
  /** Staff of the harness's store, and riders: the store's and the rider's side of an order. */
  staff!: Actor;
  riders: Actor[] = [];

  private constructor(
    readonly env: Environment,
    readonly actors: Actor[],
    readonly store: Store,
    private readonly logins: Map<Actor, DevLogin>,
  ) {}

  /**
   * Signs every actor in again, in place (token and clients), before their access tokens expire
   * (15 minutes at most): a run of 10,000 rounds outlasts them. The old tokens stay good until
   * their own expiry, so requests in flight meanwhile are not disturbed.
   */
  async renewSessions(): Promise<void> {
    const anonymous = createCoOrderClient(this.env.baseUrls[0]);
    for (const [actor, login] of this.logins) {
      const renewed = await devLogin(anonymous, this.env.baseUrls, login);
      actor.token = renewed.token;
      actor.clients = renewed.clients;
    }
  }

  get instances(): number {
    return this.env.baseUrls.length;
  }

  static async create(env: Environment, users: number): Promise<World> {
    const anonymous = createCoOrderClient(env.baseUrls[0]);
    const run = randomUUID().slice(0, 8);
    const actors: Actor[] = [];
    const logins = new Map<Actor, DevLogin>();
    const signIn = async (login: DevLogin): Promise<Actor> => {
      const actor = await devLogin(anonymous, env.baseUrls, login);
      logins.set(actor, login);
      return actor;
    };
    for (let i = 0; i < users; i += 8) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(8, users - i) }, async (_, j) => {
          return signIn({ email: `race-${run}-${i + j}@example.com`, name: `Racer ${i + j}` });
        }),
      );
      actors.push(...batch);
    }
    const world = new World(env, actors, await pickStore(actors[0].clients[0]), logins);
    const withRoles = (name: string, roles: { staff_of?: string[]; rider?: boolean }) =>
      signIn({ email: `race-${run}-${name}@example.com`, name, ...roles });
    world.staff = await withRoles('staff', { staff_of: [world.store.id] });
    world.riders = await Promise.all(Array.from({ length: 8 }, (_, i) => withRoles(`rider-${i}`, { rider: true })));
    // A first top-up each through the API, so that scenarios rarely stop to refill a wallet.
    for (let i = 0; i < actors.length; i += 8) {
      await Promise.all(
        actors.slice(i, i + 8).map(async (actor) => {
          const answer = await api.topUp(actor, 0, `wallet-${randomUUID()}`, 1_000_000);
          if (answer.status !== 201) throw new Error(`first top-up answered ${answer.status}: ${JSON.stringify(answer.body)}`);
          world.claims.fromAnswer('topup', actor, answer);
          world.wallets.know(actor, (answer.body as { credit: number }).credit);
        }),
      );
    }
    return world;
  }

  /** `count` different users, none of them in `except`. */
  pick(count: number, except: Actor[] = []): Actor[] {
    const pool = this.actors.filter((a) => !except.includes(a));
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    if (pool.length < count) throw new Error(`need ${count} users, have ${pool.length}`);
    return pool.slice(0, count);
  }

  /** A delivery point somewhere within SPREAD_M of the centre: everyone is a neighbour. */
  delivery(): Schemas['AddressInput'] {
    const r = Math.sqrt(Math.random()) * SPREAD_M;
    const angle = Math.random() * 2 * Math.PI;
    const lat = CENTRE.lat + (r * Math.cos(angle)) / 111_320;
    const lon = CENTRE.lon + (r * Math.sin(angle)) / (111_320 * Math.cos((CENTRE.lat * Math.PI) / 180));
    return { address: `전북 전주시 덕진구 명륜${randomInt(1, 9)}길 ${randomInt(1, 99)}`, lat, lon };
  }

  /** Random items adding up to at least `atLeast` KRW (or any single item when 0). */
  items(atLeast: number): OrderItem[] {
    const chosen = new Map<string, number>();
    let total = 0;
    do {
      const menu = this.store.menus[randomInt(0, this.store.menus.length - 1)];
      chosen.set(menu.id, (chosen.get(menu.id) ?? 0) + 1);
      total += menu.price;
    } while (total < atLeast);
    return [...chosen].map(([menu_id, quantity]) => ({ menu_id, quantity }));
  }

  totalOf(items: OrderItem[]): number {
    return items.reduce((sum, i) => sum + this.store.menus.find((m) => m.id === i.menu_id)!.price * i.quantity, 0);
  }

  /** A new order's body and what each side will pay (as sharesOf in ./audit.ts computes it), for reserving credit. */
  newOrder(splitType: 'split' | 'separate' = Math.random() < 0.5 ? 'split' : 'separate') {
    const { minimum, tip } = this.store;
    const items = this.items(splitType === 'split' ? minimum : 0);
    const creatorTotal = this.totalOf(items);
    const joinerItems = splitType === 'separate' ? this.items(minimum - creatorTotal) : undefined;
    const { creator: creatorShare, joiner: joinerShare } = sharesOf({
      split_type: splitType,
      menu_total: creatorTotal,
      joiner_menu_total: joinerItems ? this.totalOf(joinerItems) : null,
      delivery_tip: tip,
    });
    const body: CreateBody = { store_id: this.store.id, split_type: splitType, items, delivery: this.delivery() };
    return { body, joinerItems, creatorShare, joinerShare };
  }
}

/** The cheapest store around the centre, with its menus, read through the API like any client. */
async function pickStore(client: CoOrderClient): Promise<Store> {
  const stores = await client.GET('/stores', { params: { query: { limit: 100 } } });
  if (!stores.data) throw new Error(`GET /stores failed: ${stores.response.status}`);
  const near = stores.data.items
    .filter((s) => Math.abs(s.lat - CENTRE.lat) < 0.01 && Math.abs(s.lon - CENTRE.lon) < 0.01)
    .sort((a, b) => a.min_order_price - b.min_order_price);
  if (!near.length) throw new Error('no store near the centre: is the demo data seeded?');
  const store = near[0];
  const menus = await client.GET('/stores/{storeId}/menus', { params: { path: { storeId: store.id } } });
  if (!menus.data) throw new Error(`GET menus failed: ${menus.response.status}`);
  return {
    id: store.id,
    minimum: store.min_order_price,
    tip: store.delivery_tip,
    menus: menus.data.items.map((m) => ({ id: m.id, price: m.price })),
  };
}

/** Runs `rounds` rounds, `concurrency` at a time. */
export async function inParallel(rounds: number, concurrency: number, round: (n: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, rounds) }, async () => {
      while (next < rounds && harnessAborted.reason === undefined) await round(next++);
    }),
  );
}
