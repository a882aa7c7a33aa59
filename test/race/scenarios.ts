/**
 * The races and faults the harness puts the service through: join vs cancel, K joiners on one
 * order, duplicate payments under one key, a retry storm, a join at the expiry boundary, an
 * instance killed under load, database connections terminated; and on the store's and the rider's
 * side: accept vs a participant's cancel, K riders racing to pick up with a duplicate deliver under
 * one key, reject vs cancel, an accept at the answering deadline vs the reject sweeper, a duplicate
 * reject under one key, an instance killed during deliveries; and money in: confirms of a top-up
 * racing the payment provider's webhooks and the settler under the provider's faults. Each runs `rounds` independent
 * rounds, a few at a time, checks what the clients got against what must hold for that race, and
 * leaves the database-wide checks to the audit that runs after it.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { Schemas } from '../../openapi/client.js';
import { loadConfig } from '../../src/config.js';
import { createMetrics } from '../../src/http/metrics.js';
import { runOnce as expireOverdueOnce } from '../../src/jobs/expire-overdue.js';
import { runOnce as rejectUnansweredOnce } from '../../src/jobs/reject-unanswered.js';
import { runOnce as settleTopUpsOnce, settlerOptions } from '../../src/jobs/settle-top-ups.js';
import { paymentsOf } from '../../src/payments/register.js';
import { paymentsEnv, type ConfirmFault, type WebhookMode } from '../support/payment-provider.js';
import {
  api,
  etagOf,
  is2xx,
  isBusy,
  REQUEST_TIMEOUT_MS,
  type Actor,
  type Answer,
  type Order,
  type OrderItem,
  type PublicOrder,
  type SendOptions,
} from './http.js';
import { inParallel, pause, randomInt, retryable, untilAnswered, type World } from './setup.js';
import { ScenarioStats, type ScenarioPolicy } from './stats.js';
import { DATABASE_APPLICATION_NAME } from '../../src/db/database.js';

export interface ScenarioContext {
  world: World;
  rounds: number;
  concurrency: number;
  log: (line: string) => void;
}

export interface Scenario {
  id: number;
  name: string;
  policy?: ScenarioPolicy;
  /** Why it cannot run here (e.g. it needs process or database control); undefined if it can. */
  unavailable?: (world: World) => string | undefined;
  run(ctx: ScenarioContext, stats: ScenarioStats): Promise<void>;
}

const key = () => randomUUID();
const other = (world: World, instance: number) => (world.instances > 1 ? 1 - instance : instance);
const spread = (world: World, n: number) => n % world.instances;
const describe = (a: Answer<unknown>) => `${a.status}${a.code ? ` ${a.code}` : ''}${a.replayed ? ' (replay)' : ''}`;

/** Runs each round, turning anything it throws into an anomaly instead of ending the run. */
async function rounds(ctx: ScenarioContext, stats: ScenarioStats, round: (n: number) => Promise<void>): Promise<void> {
  const started = Date.now();
  // Long scenarios say how far they are, every 15 s.
  const ticker = setInterval(() => {
    const s = Math.round((Date.now() - started) / 1000);
    ctx.log(`  ${stats.rounds}/${ctx.rounds} rounds in ${s} s (${stats.anomalyCount} anomalies so far)`);
  }, 15_000);
  try {
    await inParallel(ctx.rounds, ctx.concurrency, async (n) => {
      try {
        await round(n);
      } catch (error) {
        stats.anomaly(`round ${n} threw: ${(error as Error).stack ?? String(error)}`);
      }
      stats.rounds++;
    });
  } finally {
    clearInterval(ticker);
  }
}

/** A round's own verdict: it wins only if none of its checks failed. */
function roundCheck(stats: ScenarioStats) {
  let ok = true;
  return {
    fail: (message: string) => {
      ok = false;
      stats.anomaly(message);
    },
    won: () => {
      if (ok) stats.wins++;
    },
  };
}

/**
 * Reserves the creator's share in the harness's wallets, then opens a pending order through the
 * API, retrying what is retryable on any instance. Unlike the tests' openOrder it runs outside
 * vitest and fails nothing: what it did not expect it records as an anomaly of the round.
 */
async function openReservedOrder(
  ctx: ScenarioContext,
  stats: ScenarioStats,
  creator: Actor,
  splitType?: 'split' | 'separate',
): Promise<{ order: Order; etag: string; joinerItems?: OrderItem[]; joinerShare: number } | undefined> {
  const { world } = ctx;
  const plan = world.newOrder(splitType);
  await world.wallets.reserve(stats, creator, plan.creatorShare);
  const k = key();
  const created = await untilAnswered(stats, 'open order', world.instances, (i) => api.createOrder(creator, i, k, plan.body));
  if (!created) return undefined;
  world.claims.fromAnswer('create', creator, created);
  if (created.status !== 201) {
    stats.anomaly(`open order: ${describe(created)} ${JSON.stringify(created.body).slice(0, 300)}`);
    return undefined;
  }
  const order = created.body as Order;
  world.orderIds.add(order.id);
  if (order.shares.creator !== plan.creatorShare || order.status !== 'pending' || order.version !== 1) {
    stats.anomaly(
      `open order: got ${order.status} v${order.version} creator share ${order.shares.creator}, expected pending v1 ${plan.creatorShare}`,
    );
  }
  if (created.location !== `/orders/${order.id}`) stats.anomaly(`open order: Location ${created.location}`);
  if (created.replayed) stats.count('order opened by a replay');
  return { order, etag: created.etag!, joinerItems: plan.joinerItems, joinerShare: plan.joinerShare };
}

/** The 412 a loser gets must carry the current ETag and the current order, in the view the loser may see. */
function checkStale(fail: (message: string) => void, what: string, answer: Answer<unknown>, current: Order, loser: Actor): void {
  const problem = answer.body as { current?: Order | PublicOrder } | undefined;
  if (answer.etag !== etagOf(current.version)) fail(`${what}: 412 with ETag ${answer.etag}, order is at v${current.version}`);
  if (problem?.current?.id !== current.id || problem.current.status !== current.status || problem.current.version !== current.version) {
    fail(
      `${what}: 412 body names ${problem?.current?.status} v${problem?.current?.version}, winner left ${current.status} v${current.version}`,
    );
  }
  // As the loser may see it: all of it if they take part in the order, else the public view.
  const view = current.creator_id === loser.id || current.joiner_id === loser.id ? 'participant' : 'public';
  if (problem?.current && problem.current.view !== view)
    fail(`${what}: 412 body is the ${problem.current.view} view, expected the ${view} one`);
}

/** 1. Join and cancel on one pending order, same If-Match, sent to different instances. */
const joinVsCancel: Scenario = {
  id: 1,
  name: 'join vs cancel',
  async run(ctx, stats) {
    const { world } = ctx;
    await rounds(ctx, stats, async (n) => {
      const { fail, won } = roundCheck(stats);
      const [creator, joiner] = world.pick(2);
      const opened = await openReservedOrder(ctx, stats, creator);
      if (!opened) return;
      const { order, etag } = opened;
      await world.wallets.reserve(stats, joiner, opened.joinerShare);
      const a = spread(world, n);
      const [join, cancel] = await Promise.all([
        api.join(joiner, a, order.id, etag, key(), opened.joinerItems).then((r) => stats.record(r, 'join')),
        api.cancel(creator, other(world, a), order.id, etag, key()).then((r) => stats.record(r, 'cancel')),
      ]);
      world.claims.fromAnswer('join', joiner, join);
      world.claims.fromAnswer('cancel', creator, cancel);
      const winners = [join, cancel].filter((r) => r.status === 200);
      if (winners.length !== 1) {
        fail(`order ${order.id}: ${winners.length} winners (join ${describe(join)}, cancel ${describe(cancel)})`);
        return;
      }
      const [winner, loser, loserName, loserActor] =
        join.status === 200 ? [join, cancel, 'cancel', creator] : [cancel, join, 'join', joiner];
      const current = winner.body as Order;
      if (join.status === 200 && (current.status !== 'matched' || current.joiner_id !== joiner.id)) {
        fail(`order ${order.id}: join 200 but body says ${current.status} joiner ${current.joiner_id}`);
      }
      if (cancel.status === 200 && current.status !== 'cancelled') fail(`order ${order.id}: cancel 200 but body says ${current.status}`);
      if (current.version !== 2) fail(`order ${order.id}: winner left v${current.version}, expected v2`);
      if (loser.status === 412) checkStale(fail, `order ${order.id} ${loserName}`, loser, current, loserActor);
      else if (!isBusy(loser)) fail(`order ${order.id}: losing ${loserName} got ${describe(loser)}, expected 412 (or 409 busy)`);
      won();
      stats.count(join.status === 200 ? 'join won' : 'cancel won');
    });
  },
};

/** 2. K joiners (2..16) racing for one order, spread over both instances. */
const manyJoiners: Scenario = {
  id: 2,
  name: 'K joiners race',
  async run(ctx, stats) {
    const { world } = ctx;
    await rounds(ctx, stats, async (n) => {
      const { fail, won } = roundCheck(stats);
      const k = 2 + (n % 15);
      const [creator] = world.pick(1);
      const joiners = world.pick(k, [creator]);
      const opened = await openReservedOrder(ctx, stats, creator);
      if (!opened) return;
      const { order, etag } = opened;
      await Promise.all(joiners.map((j) => world.wallets.reserve(stats, j, opened.joinerShare)));
      const answers = await Promise.all(
        joiners.map((j, i) =>
          api.join(j, spread(world, n + i), order.id, etag, key(), opened.joinerItems).then((r) => stats.record(r, 'join')),
        ),
      );
      answers.forEach((a, i) => world.claims.fromAnswer('join', joiners[i], a));
      const joined = answers.map((a, i) => [a, joiners[i]] as const).filter(([a]) => a.status === 200);
      if (joined.length !== 1) {
        fail(`order ${order.id}: ${joined.length} of ${k} joiners won (${answers.map(describe).join(', ')})`);
        return;
      }
      const [winner, winnerActor] = joined[0];
      const current = winner.body as Order;
      if (current.status !== 'matched' || current.joiner_id !== winnerActor.id || current.version !== 2) {
        fail(`order ${order.id}: winning join body says ${current.status} v${current.version} joiner ${current.joiner_id}`);
      }
      for (const [i, a] of answers.entries()) {
        if (a === winner) continue;
        if (a.status === 412) checkStale(fail, `order ${order.id} losing join`, a, current, joiners[i]);
        else if (!isBusy(a)) fail(`order ${order.id}: losing join got ${describe(a)}, expected 412 (or 409 busy)`);
      }
      won();
      stats.count(`K=${k < 10 ? '2-9' : '10-16'} rounds`);
    });
  },
};

type KeyedOp = 'create' | 'join' | 'cancel' | 'topup';
const KEYED_OPS: KeyedOp[] = ['create', 'join', 'cancel', 'topup'];

/** One money-moving request, ready to be sent (always with the same key and body) to any instance. */
interface KeyedRequest {
  actor: Actor;
  /** The status of its success. */
  expected: number;
  send(instance: number, options?: SendOptions): Promise<Answer<unknown>>;
}

/** Prepares a request of `op`: an order to act on (opened through the API) and credit reserved. */
async function keyedRequest(ctx: ScenarioContext, stats: ScenarioStats, op: KeyedOp): Promise<KeyedRequest | undefined> {
  const { world } = ctx;
  const k = key();
  if (op === 'topup') {
    const [user] = world.pick(1);
    const amount = randomInt(1, 50) * 1000;
    return { actor: user, expected: 201, send: (i, o) => api.topUp(user, i, k, amount, o) };
  }
  if (op === 'create') {
    const [creator] = world.pick(1);
    const plan = world.newOrder();
    await world.wallets.reserve(stats, creator, plan.creatorShare);
    return { actor: creator, expected: 201, send: (i, o) => api.createOrder(creator, i, k, plan.body, o) };
  }
  const [creator, joiner] = world.pick(2);
  const opened = await openReservedOrder(ctx, stats, creator);
  if (!opened) return undefined;
  const { order, etag } = opened;
  if (op === 'join') {
    await world.wallets.reserve(stats, joiner, opened.joinerShare);
    return { actor: joiner, expected: 200, send: (i, o) => api.join(joiner, i, order.id, etag, k, opened.joinerItems, o) };
  }
  return { actor: creator, expected: 200, send: (i, o) => api.cancel(creator, i, order.id, etag, k, o) };
}

/** The effect an answer names: the order (create/join/cancel) or the ledger entry (top-up). */
const effectOf = (op: KeyedOp, a: Answer<unknown>) =>
  op === 'topup'
    ? `entry ${(a.body as { entry: { id: number } }).entry.id}`
    : `order ${(a.body as Order).id} v${(a.body as Order).version}`;

function claimKeyed(world: World, op: KeyedOp, actor: Actor, answer: Answer<unknown>): void {
  world.claims.fromAnswer(op, actor, answer);
  if (op === 'create' && is2xx(answer.status)) world.orderIds.add((answer.body as Order).id);
}

/**
 * The last answer a client got for a keyed request that nobody races (retried until answered):
 * it must be the request's success, whether run afresh or replayed. Wins the round if it is.
 */
function settle(
  world: World,
  stats: ScenarioStats,
  op: KeyedOp,
  request: KeyedRequest,
  final: Answer<unknown> | undefined,
  what: string,
): void {
  if (!final) return;
  claimKeyed(world, op, request.actor, final);
  if (final.replayed) stats.count('answered by a replay');
  if (final.status !== request.expected) {
    stats.anomaly(`${what}: final answer ${describe(final)}, expected ${request.expected}`);
    return;
  }
  stats.wins++;
}

/** 3. The same Idempotency-Key sent 10 times at once across both instances. */
const duplicates: Scenario = {
  id: 3,
  name: 'duplicate payments (10× same key)',
  async run(ctx, stats) {
    const { world } = ctx;
    await rounds(ctx, stats, async (n) => {
      const { fail, won } = roundCheck(stats);
      const op = KEYED_OPS[n % KEYED_OPS.length];
      const request = await keyedRequest(ctx, stats, op);
      if (!request) return;
      let answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => request.send(spread(world, n + i)).then((r) => stats.record(r, `${op} ×10`))),
      );
      answers.forEach((a) => claimKeyed(world, op, request.actor, a));
      const odd = answers.filter((a) => !(a.status === request.expected || isBusy(a)));
      if (odd.length) fail(`${op} ×10: unexpected ${odd.map(describe).join(', ')}`);
      if (!answers.some((a) => a.status === request.expected)) {
        // Every copy was told "busy": the client asks once more and must now learn the outcome.
        const settled = await untilAnswered(stats, `${op} after all busy`, world.instances, (i) => request.send(i));
        if (!settled) return;
        claimKeyed(world, op, request.actor, settled);
        answers = [...answers, settled];
        stats.count('all ten busy');
      }
      const ok = answers.filter((a) => a.status === request.expected);
      const fresh = ok.filter((a) => !a.replayed);
      const bodies = new Set(ok.map((a) => JSON.stringify(a.body)));
      const effects = new Set(ok.map((a) => effectOf(op, a)));
      const heads = new Set(ok.map((a) => `${a.etag}|${a.location}`));
      if (fresh.length !== 1) fail(`${op} ×10: ${fresh.length} first executions (${effects.size} effects: ${[...effects].join(', ')})`);
      if (effects.size !== 1 || bodies.size !== 1) fail(`${op} ×10: answers differ: ${[...effects].join(', ')}`);
      if (heads.size !== 1) fail(`${op} ×10: replayed headers differ: ${[...heads].join(' / ')}`);
      won();
      stats.count(`${op} rounds`);
    });
  },
};

/** 4. The client aborts after a few ms and retries with the same key until it gets an answer. */
const retryStorm: Scenario = {
  id: 4,
  name: 'retry storm (abort + retry same key)',
  async run(ctx, stats) {
    const { world } = ctx;
    await rounds(ctx, stats, async (n) => {
      const op = KEYED_OPS[n % KEYED_OPS.length];
      const request = await keyedRequest(ctx, stats, op);
      if (!request) return;
      let aborted = 0;
      const final = await untilAnswered(stats, `${op} (retry storm)`, world.instances, async (i, attempt) => {
        // Impatient at first, then patient enough to get an answer even on a busy machine.
        const abortAfterMs = attempt < 8 ? randomInt(1, 4 + attempt * 8) : undefined;
        const answer = await request.send(i, { abortAfterMs });
        if (answer.status === 'aborted') aborted++;
        return answer;
      });
      stats.count('aborted attempts', aborted);
      settle(world, stats, op, request, final, `${op} (retry storm), after ${aborted} aborts`);
    });
  },
};

/**
 * The order of scenario 5 once it has left pending: each try sweeps it as the next sweep would (an
 * instance's sweeper may hold it for a moment: SKIP LOCKED leaves it to that one) and reads it back.
 */
async function settledRow(own: NonNullable<World['env']['own']>, orderId: string) {
  type Row = { status: string; joiner_id: string | null; in_time: boolean | null; after_expiry: boolean | null };
  for (let tries = 1; ; tries++) {
    await expireOverdueOnce(own.database.db, 50);
    const [row] = await own.sql<Row[]>`
      SELECT status, joiner_id, matched_at < expires_at AS in_time, expired_at >= expires_at AS after_expiry
      FROM orders WHERE id = ${orderId}`;
    if (row.status !== 'pending' || tries === 100) return row;
    await pause(50);
  }
}

/** 5. Join at the expiry boundary while both instances' sweepers and a direct runOnce() run. */
const expiryBoundary: Scenario = {
  id: 5,
  name: 'join at the expiry boundary',
  unavailable: (world) => (world.env.own ? undefined : 'needs the database to move expires_at (not with --url)'),
  async run(ctx, stats) {
    const { world } = ctx;
    const own = world.env.own!;
    await rounds(ctx, stats, async (n) => {
      const { fail, won } = roundCheck(stats);
      const [creator, joiner, bystander] = world.pick(3);
      const opened = await openReservedOrder(ctx, stats, creator);
      if (!opened) return;
      const { order, etag } = opened;
      await world.wallets.reserve(stats, joiner, opened.joinerShare);
      // Test setup, not an action: the order now expires within a few hundred milliseconds.
      const untilExpiry = randomInt(0, 300);
      await own.sql`UPDATE orders SET expires_at = now() + make_interval(secs => ${untilExpiry / 1000}) WHERE id = ${order.id}`;
      const movedAt = Date.now();
      const at = (ms: number) => pause(Math.max(0, movedAt + ms - Date.now()));
      const [join, expire, swept] = await Promise.all([
        at(untilExpiry + randomInt(-40, 40)).then(() => api.join(joiner, spread(world, n), order.id, etag, key(), opened.joinerItems)),
        n % 2 === 0
          ? at(untilExpiry + randomInt(-20, 60)).then(() => api.expire(bystander, other(world, spread(world, n)), order.id, etag, key()))
          : Promise.resolve(undefined),
        n % 3 !== 2
          ? at(untilExpiry + randomInt(-20, 60)).then(() => expireOverdueOnce(own.database.db, 50).then(({ expired }) => expired))
          : Promise.resolve(0),
      ]);
      stats.count('orders expired by the racing runOnce()', swept);
      stats.record(join, 'join at expiry');
      world.claims.fromAnswer('join', joiner, join);
      if (expire) {
        stats.record(expire, 'expire at expiry');
        world.claims.fromAnswer('expire', bystander, expire);
      }
      // Whatever is left overdue is swept now.
      await at(untilExpiry + 100);
      const row = await settledRow(own, order.id);
      const where = `order ${order.id} (expiry +${untilExpiry} ms)`;
      const expireLost =
        !expire ||
        expire.status === 412 ||
        isBusy(expire) ||
        (expire.status === 409 && ['order_not_pending', 'order_not_yet_expired'].includes(expire.code ?? ''));
      if (join.status === 200) {
        if (row.status !== 'matched' || row.joiner_id !== joiner.id || !row.in_time) {
          fail(`${where}: join 200 but the order is ${row.status}, joiner ${row.joiner_id}, matched before expiry: ${row.in_time}`);
        }
        if (!expireLost) fail(`${where}: join won, yet expire got ${describe(expire!)}`);
        stats.count('join won');
      } else {
        const joinLost =
          join.status === 412 || isBusy(join) || (join.status === 409 && ['order_expired', 'order_not_pending'].includes(join.code ?? ''));
        if (!joinLost) fail(`${where}: join got ${describe(join)}`);
        if (row.status !== 'expired' || !row.after_expiry) {
          fail(`${where}: join lost (${describe(join)}) but the order is ${row.status}, expired after expires_at: ${row.after_expiry}`);
        }
        if (expire && expire.status !== 200 && !expireLost) fail(`${where}: expire got ${describe(expire)}`);
        stats.count(expire?.status === 200 ? 'expired by POST /expire' : 'expired by a sweeper or runOnce');
      }
      won();
    });
  },
};

/** The requests of scenarios 6 and 7: order lives (open, then join or cancel) and top-ups. */
const LIFE_OPS: KeyedOp[] = ['join', 'cancel', 'join', 'topup'];

/**
 * The load of scenarios 6 and 7: each request retried with its key, against either instance,
 * until it gets a deciding answer, which must then be the success (nobody else touches these
 * orders, so a retry can only be answered by its original effect or run it afresh).
 */
async function lifeRound(ctx: ScenarioContext, stats: ScenarioStats, n: number): Promise<void> {
  const op = LIFE_OPS[n % LIFE_OPS.length];
  const request = await keyedRequest(ctx, stats, op);
  if (!request) return;
  const final = await untilAnswered(stats, op, ctx.world.instances, (i) => request.send(i));
  settle(ctx.world, stats, op, request, final, op);
}

/** Polls GET /ready on an instance until it answers `status` or `withinMs` passes; the ms it took, or undefined. */
async function waitReady(world: World, instance: number, status: number, withinMs: number): Promise<number | undefined> {
  const anyone = world.actors[0];
  const client = anyone.clients[instance];
  const started = Date.now();
  while (Date.now() - started < withinMs) {
    try {
      const { response } = await client.GET('/ready', { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      if (response.status === status && (status !== 503 || response.headers.get('retry-after'))) return Date.now() - started;
    } catch {
      // not listening
    }
    await pause(25);
  }
  return undefined;
}

/** waitReady on every instance at once: the ms each took (undefined: never), and the same as text for the log. */
async function waitAllReady(world: World, status: number, withinMs: number): Promise<{ ms: (number | undefined)[]; text: string }> {
  const ms = await Promise.all(world.env.baseUrls.map((_, i) => waitReady(world, i, status, withinMs)));
  return { ms, text: ms.map((m) => (m === undefined ? 'never' : `${m} ms`)).join(', ') };
}

/**
 * The run of scenarios 6, 7 and 13: `ctx.rounds` rounds (life rounds unless `round` says
 * otherwise) and, meanwhile, `fault(k)` `times` times, the k-th once (k + 1) / (times + 1) of the
 * rounds are done, and `meanwhile` (if any) until the rounds are over. Returns when all of it has ended.
 */
async function underFaults(
  ctx: ScenarioContext,
  stats: ScenarioStats,
  times: number,
  fault: (k: number) => Promise<void>,
  meanwhile?: (stopped: () => boolean) => Promise<void>,
  round: (n: number) => Promise<void> = (n) => lifeRound(ctx, stats, n),
): Promise<void> {
  let stop = false;
  const stopped = () => stop;
  const faults = (async () => {
    for (let k = 0; k < times; k++) {
      while (!stop && stats.rounds < (ctx.rounds * (k + 1)) / (times + 1)) await pause(5);
      if (stop) return;
      await fault(k);
    }
  })();
  const background = meanwhile?.(stopped);
  try {
    await rounds(ctx, stats, round);
  } finally {
    stop = true;
    await Promise.all([faults, background]);
  }
}

/** The fault of scenarios 6 and 13: instance k (of two, in turn) SIGKILLed, restarted on its port, ready again. */
async function killAndRestart(ctx: ScenarioContext, stats: ScenarioStats, scenario: number, k: number): Promise<void> {
  const instances = ctx.world.env.own!.instances;
  const victim = k % instances.length;
  const { name } = instances[victim];
  await instances[victim].kill();
  stats.count('SIGKILLs');
  ctx.log(`  scenario ${scenario}: SIGKILL ${name} after ${stats.rounds} rounds`);
  await instances[victim].restart();
  const readyMs = await waitReady(ctx.world, victim, 200, 15_000);
  if (readyMs === undefined) stats.anomaly(`${name} restarted but /ready is not 200 within 15 s`);
}

/** 6. One instance killed with SIGKILL mid-load and restarted; clients retry in-flight requests. */
const killedInstance: Scenario = {
  id: 6,
  name: 'SIGKILL an instance under load',
  policy: { allowNetworkErrors: true },
  unavailable: (world) => (world.env.own ? undefined : 'needs to kill and restart the service processes (not with --url)'),
  async run(ctx, stats) {
    const kills = Math.min(5, 1 + Math.floor(ctx.rounds / 400));
    await underFaults(ctx, stats, kills, (k) => killAndRestart(ctx, stats, 6, k));
  },
};

/** 7. The service's PostgreSQL connections terminated under load, and the database refusing new ones. */
const lostDatabase: Scenario = {
  id: 7,
  name: 'database connections terminated',
  policy: { allow503: true },
  unavailable: (world) => (world.env.own ? undefined : "needs an admin connection to the service's database (not with --url)"),
  async run(ctx, stats) {
    const { world } = ctx;
    const own = world.env.own!;
    const db = own.databaseName;
    const terminate = async () => {
      const [{ terminated }] = await own.serverSql<{ terminated: number }[]>`
        SELECT count(pg_terminate_backend(pid))::int AS terminated FROM pg_stat_activity
        WHERE datname = ${db} AND application_name = ${DATABASE_APPLICATION_NAME} AND pid <> pg_backend_pid()`;
      stats.count('connections terminated', terminated);
    };
    // A few times, the database also refuses new connections for a second: /ready must say so,
    // requests must fail fast, and the service must come back by itself once it accepts again.
    const outage = async (k: number) => {
      await own.serverSql.unsafe(`ALTER DATABASE ${db} ALLOW_CONNECTIONS false`);
      try {
        await terminate();
        stats.count('outages');
        ctx.log(`  scenario 7: database refusing connections after ${stats.rounds} rounds`);
        const seen = await waitAllReady(world, 503, 5000);
        ctx.log(`  scenario 7: /ready answered 503 after ${seen.text}`);
        seen.ms.forEach((ms, i) => {
          if (ms === undefined) stats.anomaly(`outage ${k}: /ready of instance ${i} did not report 503 + Retry-After within 5 s`);
        });
        await pause(1000);
      } finally {
        await own.serverSql.unsafe(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
      }
      const back = await waitAllReady(world, 200, 15_000);
      ctx.log(`  scenario 7: database back; /ready answered 200 after ${back.text}`);
      back.ms.forEach((ms, i) => {
        if (ms === undefined) stats.anomaly(`outage ${k}: instance ${i} did not recover (/ready 200) within 15 s`);
        else stats.max('ms to /ready 200 after outage (max)', ms);
      });
    };
    // Connections cut every few hundred milliseconds, all through the run.
    const cutter = async (stopped: () => boolean) => {
      while (!stopped()) {
        await pause(randomInt(250, 600));
        if (!stopped()) await terminate();
      }
    };
    // Twice the clients: most of this scenario is clients waiting out a lost connection.
    const outages = Math.min(3, 1 + Math.floor(ctx.rounds / 400));
    await underFaults({ ...ctx, concurrency: ctx.concurrency * 2 }, stats, outages, outage, cutter);
  },
};

/** A matched order: opened and joined through the API, with both shares reserved. Undefined if that failed (an anomaly). */
async function matchedOrder(ctx: ScenarioContext, stats: ScenarioStats) {
  const { world } = ctx;
  const [creator, joiner] = world.pick(2);
  const opened = await openReservedOrder(ctx, stats, creator);
  if (!opened) return undefined;
  await world.wallets.reserve(stats, joiner, opened.joinerShare);
  const k = key();
  const joined = await untilAnswered(stats, 'join', world.instances, (i) =>
    api.join(joiner, i, opened.order.id, opened.etag, k, opened.joinerItems),
  );
  if (!joined) return undefined;
  world.claims.fromAnswer('join', joiner, joined);
  if (joined.status !== 200) {
    stats.anomaly(`join of a fresh order: ${describe(joined)}`);
    return undefined;
  }
  return { order: joined.body as Order, etag: joined.etag!, creator, joiner };
}

/** One step by the store or a rider that must succeed (retried on any instance with its key): the new ETag. */
async function mustStep(
  ctx: ScenarioContext,
  stats: ScenarioStats,
  what: 'accept' | 'ready' | 'pick_up' | 'deliver',
  actor: Actor,
  orderId: string,
  etag: string,
): Promise<string | undefined> {
  const k = key();
  const call = { accept: api.accept, ready: api.ready, pick_up: api.pickUp, deliver: api.deliver }[what];
  const answer = await untilAnswered(stats, what, ctx.world.instances, (i) => call(actor, i, orderId, etag, k));
  if (answer?.status !== 200) {
    if (answer) stats.anomaly(`${what} of order ${orderId}: ${describe(answer)}`);
    return undefined;
  }
  if (what !== 'ready') ctx.world.claims.fromAnswer(what, actor, answer);
  return answer.etag!;
}

/**
 * 8 and 10. The store's answer (accept, or reject) and a participant's cancel on the same matched
 * version, on different instances: exactly one wins; a cancel or a reject refunds both, an accept nothing.
 */
const storeVsCancel = (id: number, storeAction: 'accept' | 'reject'): Scenario => ({
  id,
  name: `${storeAction} vs participant cancel`,
  async run(ctx, stats) {
    const { world } = ctx;
    await rounds(ctx, stats, async (n) => {
      const { fail, won } = roundCheck(stats);
      const matched = await matchedOrder(ctx, stats);
      if (!matched) return;
      const { order, etag } = matched;
      const canceller = n % 2 ? matched.creator : matched.joiner;
      const a = spread(world, n);
      const [store, cancel] = await Promise.all([
        (storeAction === 'accept' ? api.accept : api.reject)(world.staff, a, order.id, etag, key()).then((r) =>
          stats.record(r, storeAction),
        ),
        api.cancel(canceller, other(world, a), order.id, etag, key()).then((r) => stats.record(r, 'cancel')),
      ]);
      world.claims.fromAnswer(storeAction, world.staff, store);
      world.claims.fromAnswer('cancel', canceller, cancel);
      const winners = [store, cancel].filter((r) => r.status === 200);
      if (winners.length !== 1) {
        fail(`order ${order.id}: ${winners.length} winners (${storeAction} ${describe(store)}, cancel ${describe(cancel)})`);
        return;
      }
      const [winner, loser, loserActor] = store.status === 200 ? [store, cancel, canceller] : [cancel, store, world.staff];
      const current = winner.body as Order;
      const expected = store.status === 200 ? (storeAction === 'accept' ? 'accepted' : 'rejected') : 'cancelled';
      if (current.status !== expected || current.version !== 3)
        fail(`order ${order.id}: winner left ${current.status} v${current.version}`);
      if (loser.status === 412) {
        const body = loser.body as { current?: { status: string; version: number } };
        if (loser.etag !== etagOf(3) || body.current?.status !== expected) fail(`order ${order.id}: 412 names ${body.current?.status}`);
      } else if (!isBusy(loser))
        fail(`order ${order.id}: losing ${loserActor === world.staff ? storeAction : 'cancel'} got ${describe(loser)}`);
      won();
      stats.count(store.status === 200 ? `${storeAction} won` : 'cancel won');
    });
  },
});

/**
 * 9. K riders (2..8) racing to pick up one ready order across both instances: exactly one wins,
 * the others get 412 (or 409); then the winner delivers it, the same request sent to both
 * instances under one key (one payout, one replay), and a rider who lost may not deliver it (403).
 */
const ridersRace: Scenario = {
  id: 9,
  name: 'K riders race to pick up, duplicate deliver',
  async run(ctx, stats) {
    const { world } = ctx;
    await rounds(ctx, stats, async (n) => {
      const { fail, won } = roundCheck(stats);
      const matched = await matchedOrder(ctx, stats);
      if (!matched) return;
      const orderId = matched.order.id;
      const accepted = await mustStep(ctx, stats, 'accept', world.staff, orderId, matched.etag);
      const ready = accepted && (await mustStep(ctx, stats, 'ready', world.staff, orderId, accepted));
      if (!ready) return;
      const k = 2 + (n % 7);
      const racers = [...world.riders].sort(() => Math.random() - 0.5).slice(0, k);
      const answers = await Promise.all(
        racers.map((r, i) => api.pickUp(r, spread(world, n + i), orderId, ready).then((a) => stats.record(a, 'pick-up'))),
      );
      const picked = answers.map((a, i) => [a, racers[i]] as const).filter(([a]) => a.status === 200);
      if (picked.length !== 1) {
        fail(`order ${orderId}: ${picked.length} of ${k} riders picked it up (${answers.map(describe).join(', ')})`);
        return;
      }
      const [pick, rider] = picked[0];
      world.claims.fromAnswer('pick_up', rider, pick);
      for (const loser of answers.filter((a) => a !== pick)) {
        if (loser.status !== 412 && !isBusy(loser)) fail(`order ${orderId}: losing rider got ${describe(loser)}`);
      }
      const someoneElse = racers.find((r) => r !== rider) ?? world.riders.find((r) => r !== rider)!;
      const refused = await api.deliver(someoneElse, spread(world, n), orderId, pick.etag!, key());
      if (refused.status !== 403) fail(`order ${orderId}: another rider's deliver got ${describe(refused)}`);
      const deliverKey = key();
      const twice = await Promise.all(
        [0, 1].map((i) =>
          untilAnswered(stats, 'deliver', 1, () => api.deliver(rider, spread(world, n + i), orderId, pick.etag!, deliverKey)),
        ),
      );
      for (const d of twice) if (d) world.claims.fromAnswer('deliver', rider, d);
      if (twice.some((d) => d?.status !== 200))
        fail(`order ${orderId}: deliver twice got ${twice.map((d) => d && describe(d)).join(', ')}`);
      else if (twice.filter((d) => d!.replayed).length !== 1)
        fail(`order ${orderId}: ${twice.filter((d) => d!.replayed).length} replays of two delivers`);
      else stats.count('delivered');
      won();
    });
  },
};

/**
 * The order of scenario 11 once the store's deadline has decided it: each try runs the reject
 * sweeper as the next sweep would (an instance's sweeper may hold the order for a moment: SKIP
 * LOCKED leaves it to that one) and reads the order back.
 */
async function answeredRow(own: NonNullable<World['env']['own']>, orderId: string) {
  type Row = { status: string; version: number; accepted_in_time: boolean | null; rejected_after: boolean | null };
  for (let tries = 1; ; tries++) {
    await rejectUnansweredOnce(own.database.db, 50);
    const [row] = await own.sql<Row[]>`
      SELECT status, version, accepted_at < accept_by AS accepted_in_time, rejected_at >= accept_by AS rejected_after
      FROM orders WHERE id = ${orderId}`;
    if (row.status !== 'matched' || tries === 100) return row;
    await pause(50);
  }
}

/**
 * 11. The store's accept a few ms either side of accept_by, while both instances' reject sweepers
 * and a direct runOnce() race it: exactly one outcome, accepted in time with no refund, or
 * rejected at or after the deadline with both refunded (the audit checks the money).
 */
const acceptDeadline: Scenario = {
  id: 11,
  name: 'accept at the answering deadline vs the sweeper',
  unavailable: (world) => (world.env.own ? undefined : 'needs the database to move accept_by (not with --url)'),
  async run(ctx, stats) {
    const { world } = ctx;
    const own = world.env.own!;
    await rounds(ctx, stats, async (n) => {
      const { fail, won } = roundCheck(stats);
      const matched = await matchedOrder(ctx, stats);
      if (!matched) return;
      const { order, etag } = matched;
      // Test setup, not an action: the store's time to answer now ends within a few hundred milliseconds.
      const untilDeadline = randomInt(0, 300);
      await own.sql`UPDATE orders SET accept_by = now() + make_interval(secs => ${untilDeadline / 1000}) WHERE id = ${order.id}`;
      const movedAt = Date.now();
      const at = (ms: number) => pause(Math.max(0, movedAt + ms - Date.now()));
      const [accept, swept] = await Promise.all([
        at(untilDeadline + randomInt(-40, 40)).then(() => api.accept(world.staff, spread(world, n), order.id, etag, key())),
        n % 3 !== 2
          ? at(untilDeadline + randomInt(-20, 60)).then(() => rejectUnansweredOnce(own.database.db, 50).then(({ rejected }) => rejected))
          : Promise.resolve(0),
      ]);
      stats.count('orders rejected by the racing runOnce()', swept);
      stats.record(accept, 'accept at the deadline');
      world.claims.fromAnswer('accept', world.staff, accept);
      // Whatever is left unanswered past its deadline is swept now.
      await at(untilDeadline + 100);
      const row = await answeredRow(own, order.id);
      const where = `order ${order.id} (deadline +${untilDeadline} ms)`;
      if (accept.status === 200) {
        const body = accept.body as Order;
        if (body.status !== 'accepted' || body.version !== 3) fail(`${where}: accept 200 answered ${body.status} v${body.version}`);
        if (row.status !== 'accepted' || row.version !== 3 || !row.accepted_in_time) {
          fail(`${where}: accept 200 but the order is ${row.status} v${row.version}, accepted before accept_by: ${row.accepted_in_time}`);
        }
        stats.count('accept won');
      } else {
        const lost = accept.status === 412 || isBusy(accept) || (accept.status === 409 && accept.code === 'accept_deadline_passed');
        if (!lost) fail(`${where}: accept got ${describe(accept)}`);
        if (row.status !== 'rejected' || row.version !== 3 || !row.rejected_after) {
          fail(
            `${where}: accept lost (${describe(accept)}) but the order is ${row.status} v${row.version}, rejected at or after accept_by: ${row.rejected_after}`,
          );
        }
        stats.count(accept.status === 412 ? 'swept first (accept 412)' : 'deadline passed (accept 409), then swept');
      }
      won();
    });
  },
};

/**
 * 12. The store's reject sent 2–4 times at once under one Idempotency-Key, across both instances,
 * and once more afterwards: one rejection (the audit finds both participants refunded once), every
 * other answer its replay with the same body.
 */
const duplicateReject: Scenario = {
  id: 12,
  name: 'duplicate reject under one key',
  async run(ctx, stats) {
    const { world } = ctx;
    await rounds(ctx, stats, async (n) => {
      const { fail, won } = roundCheck(stats);
      const matched = await matchedOrder(ctx, stats);
      if (!matched) return;
      const { order, etag } = matched;
      const rejectKey = key();
      const copies = 2 + (n % 3);
      const answers = await Promise.all(
        Array.from({ length: copies }, (_, i) =>
          untilAnswered(stats, 'reject', 1, () => api.reject(world.staff, spread(world, n + i), order.id, etag, rejectKey)),
        ),
      );
      for (const a of answers) if (a) world.claims.fromAnswer('reject', world.staff, a);
      if (answers.some((a) => a?.status !== 200)) {
        fail(`order ${order.id}: ${copies} rejects under one key got ${answers.map((a) => a && describe(a)).join(', ')}`);
        return;
      }
      const fresh = answers.filter((a) => !a!.replayed);
      if (fresh.length !== 1) fail(`order ${order.id}: ${fresh.length} of ${copies} rejects under one key ran (not replays)`);
      const bodies = new Set(answers.map((a) => JSON.stringify(a!.body)));
      if (bodies.size !== 1) fail(`order ${order.id}: ${bodies.size} different bodies for one key`);
      const body = answers[0]!.body as Order;
      if (body.status !== 'rejected' || body.version !== 3) fail(`order ${order.id}: reject answered ${body.status} v${body.version}`);
      const again = stats.record(await api.reject(world.staff, other(world, spread(world, n)), order.id, etag, rejectKey), 'reject again');
      if (again.status !== 200 || !again.replayed || JSON.stringify(again.body) !== [...bodies][0]) {
        fail(`order ${order.id}: the same reject later got ${describe(again)}`);
      }
      stats.count('rejected');
      won();
    });
  },
};

/**
 * 13. Orders taken through accept, ready and pick-up to their deliver, while an instance is
 * SIGKILLed with deliveries in flight and restarted. A rider whose deliver got no answer retries it
 * with its key on either instance (a replay, or the deliver afresh), or in half the rounds gives
 * up: every order ends delivered and paid once, or still picked up with nothing paid (the audit
 * checks the money, this scenario the states).
 */
const killedDuringDeliveries: Scenario = {
  id: 13,
  name: 'SIGKILL an instance during deliveries',
  policy: { allowNetworkErrors: true },
  unavailable: (world) => (world.env.own ? undefined : 'needs to kill and restart the service processes (not with --url)'),
  async run(ctx, stats) {
    const { world } = ctx;
    const own = world.env.own!;
    let delivering = 0;
    const delivered = new Set<string>();
    const abandoned = new Set<string>();
    const round = async (n: number) => {
      const { fail, won } = roundCheck(stats);
      const matched = await matchedOrder(ctx, stats);
      if (!matched) return;
      const orderId = matched.order.id;
      const rider = world.riders[n % world.riders.length];
      const accepted = await mustStep(ctx, stats, 'accept', world.staff, orderId, matched.etag);
      const ready = accepted && (await mustStep(ctx, stats, 'ready', world.staff, orderId, accepted));
      const picked = ready && (await mustStep(ctx, stats, 'pick_up', rider, orderId, ready));
      if (!picked) return;
      const deliverKey = key();
      delivering++;
      const first = await api.deliver(rider, spread(world, n), orderId, picked, deliverKey).finally(() => delivering--);
      stats.record(first, 'deliver');
      let final: Answer<Order> | undefined = first;
      if (first.status === 'network') {
        // Refused: sent to the instance while it was down; otherwise in flight when it died.
        stats.count(first.failure === 'ECONNREFUSED' ? 'delivers refused (instance down)' : 'delivers cut in flight by the SIGKILL');
      }
      if (retryable(first)) {
        if (n % 2 === 0) {
          abandoned.add(orderId);
          stats.count('delivers given up after no answer');
          won();
          return;
        }
        final = await untilAnswered(stats, 'deliver (retried)', world.instances, (i) => api.deliver(rider, i, orderId, picked, deliverKey));
        if (final) stats.count(final.replayed ? 'retried delivers answered by a replay' : 'retried delivers run afresh');
      }
      if (!final) return;
      world.claims.fromAnswer('deliver', rider, final);
      if (final.status !== 200 || (final.body as Order).status !== 'completed') {
        fail(`order ${orderId}: deliver got ${describe(final)}`);
        return;
      }
      delivered.add(orderId);
      won();
    };
    const kills = Math.min(5, 2 + Math.floor(ctx.rounds / 400));
    // Each kill waits (a little) for a deliver to be in flight, so that the process dies during one.
    const fault = async (k: number) => {
      for (let waited = 0; delivering === 0 && waited < 2000; waited += 2) await pause(2);
      await killAndRestart(ctx, stats, 13, k);
    };
    await underFaults(ctx, stats, kills, fault, undefined, round);
    // Every order ends delivered and paid once (the audit), or still picked up: nothing in between.
    const ids = [...delivered, ...abandoned];
    const rows = await own.sql<{ id: string; status: string }[]>`SELECT id, status FROM orders WHERE id = ANY(${ids}::uuid[])`;
    const statusOf = new Map(rows.map((r) => [r.id, r.status]));
    for (const id of delivered) if (statusOf.get(id) !== 'completed') stats.anomaly(`order ${id}: deliver 200, yet ${statusOf.get(id)}`);
    for (const id of abandoned) {
      const status = statusOf.get(id);
      if (status === 'completed') stats.count('given up, yet delivered (the answer was lost)');
      else if (status === 'picked_up') stats.count('given up, still picked up');
      else stats.anomaly(`order ${id}: its deliver given up, the order is ${status}`);
    }
    stats.count('delivered', delivered.size);
  },
};

/** What the provider does in a round of scenario 14, and whether the payment ends up captured. */
interface ProviderFault {
  name: string;
  captures: boolean;
  /** The faults of the first confirms to reach the provider, of the round's `copies`. */
  faults?: (copies: number) => ConfirmFault[];
  webhooks?: WebhookMode[];
  /** The customer paid another amount at the provider than the top-up's: it refuses the confirm. */
  paidOtherAmount?: boolean;
  /** The provider captures the payment by itself, its webhook racing the confirms. */
  capturesDirectly?: boolean;
}

/** One per round, in turn. */
const PROVIDER_FAULTS: ProviderFault[] = [
  { name: 'no fault', captures: true },
  {
    name: 'timeout after capture, no webhook',
    captures: true,
    faults: () => [{ kind: 'timeout_after_capture' }],
    webhooks: [{ kind: 'none' }],
  },
  {
    name: '5xx after capture, webhook late',
    captures: true,
    faults: () => [{ kind: 'error_after_capture' }],
    webhooks: [{ kind: 'delay', ms: 300 }],
  },
  // Every confirm answered 500 before capturing: all 202, and a settler's confirm captures it.
  {
    name: '5xx before capture to every confirm, no webhook',
    captures: true,
    faults: (copies) => Array.from({ length: copies }, () => ({ kind: 'error_before_capture' }) as const),
    webhooks: [{ kind: 'none' }],
  },
  { name: 'slow answer, webhook duplicated', captures: true, faults: () => [{ kind: 'slow', ms: 500 }], webhooks: [{ kind: 'duplicate' }] },
  { name: 'webhook early (before the confirm is answered)', captures: true, webhooks: [{ kind: 'early' }] },
  {
    name: 'timeout after capture, webhook badly signed',
    captures: true,
    faults: () => [{ kind: 'timeout_after_capture' }],
    webhooks: [{ kind: 'bad_signature' }],
  },
  { name: 'captured by the provider directly, its webhook racing the confirms', captures: true, capturesDirectly: true },
  { name: 'card declined', captures: false, faults: () => [{ kind: 'decline' }] },
  { name: 'another amount paid at the provider (refused)', captures: false, paidOtherAmount: true },
];

type TopUp = Schemas['TopUp'];
type Own = NonNullable<World['env']['own']>;

/**
 * The top-up settler as the instances' scheduled job runs it (src/jobs/schedule.ts), with their
 * payment config, run by the harness when it wants: the instances' own runs every second are not
 * something a round can wait for.
 */
function harnessSettler(own: Own) {
  const config = loadConfig({ NODE_ENV: 'test', ...paymentsEnv(own.provider) });
  const payments = paymentsOf({ db: own.database.db, config, logger: pino({ level: 'silent' }), metrics: createMetrics() });
  const options = settlerOptions(config);
  /** Makes top-up `id` due now if it is still processing (test setup, not an action), and runs the settler once. */
  return async (stats: ScenarioStats, id: string) => {
    await own.sql`UPDATE top_ups SET next_check_at = now() WHERE id = ${id} AND status = 'processing' AND gave_up_at IS NULL`;
    const counts = await settleTopUpsOnce(payments, options);
    stats.count("top-ups settled by the harness's runOnce()", counts.settled);
    if (counts.given_up) stats.anomaly(`the settler gave up on ${counts.given_up} top-ups`);
  };
}

type Settler = ReturnType<typeof harnessSettler>;

async function topUpRow(own: Own, id: string) {
  type Row = { status: string; credits: number; credited: number; entry_id: number | null };
  const [row] = await own.sql<Row[]>`
    SELECT t.status, count(l.id)::int AS credits, coalesce(sum(l.amount), 0)::int AS credited, min(l.id) AS entry_id
    FROM top_ups t LEFT JOIN credit_ledger l ON l.top_up_id = t.id WHERE t.id = ${id} GROUP BY t.id`;
  return row;
}

/** Restarts both instances with `env` over the environment they were launched with ({}: as launched), each stopped cleanly first. */
async function restartInstances(own: Own, stats: ScenarioStats, env: Record<string, string>): Promise<void> {
  await Promise.all(
    own.instances.map(async (instance) => {
      const code = await instance.stop();
      if (code !== 0) stats.anomaly(`${instance.name} exited with ${code} on SIGTERM before its restart`);
      await instance.restart(env);
    }),
  );
}

/** A round of scenario 14. */
async function topUpRound(ctx: ScenarioContext, stats: ScenarioStats, settle: Settler, n: number): Promise<void> {
  const { world } = ctx;
  const own = world.env.own!;
  const sim = own.provider;
  const { fail, won } = roundCheck(stats);
  const fault = PROVIDER_FAULTS[n % PROVIDER_FAULTS.length];
  const [user] = world.pick(1);
  const amount = randomInt(1, 50) * 1000;
  const createKey = key();
  const made = await untilAnswered(stats, 'top-up', world.instances, (i) => api.topUp(user, i, createKey, amount));
  if (!made) return;
  const topUp = made.body as TopUp;
  if (made.status !== 201 || topUp.status !== 'awaiting_payment' || topUp.amount !== amount) {
    fail(`top-up: ${describe(made)} ${JSON.stringify(made.body).slice(0, 300)}`);
    return;
  }
  world.claims.fromAnswer('topup_answer', user, made);
  const { id } = topUp;
  const where = `top-up ${id} (${fault.name})`;
  const paymentKey = sim.pay(id, fault.paidOtherAmount ? amount + 1000 : amount);
  const copies = 2 + (n % 3);
  sim.forOrder(id, { faults: fault.faults?.(copies), webhooks: fault.webhooks });
  // In half the rounds two copies share a key: a client's retry racing its first attempt.
  const keys = Array.from({ length: copies }, key);
  if (Math.random() < 0.5) keys[1] = keys[0];
  const racing = Promise.all([
    fault.capturesDirectly ? pause(randomInt(0, 50)).then(() => sim.captureDirectly(paymentKey)) : undefined,
    Math.random() < 0.5 ? pause(randomInt(0, 300)).then(() => settle(stats, id)) : undefined,
  ]);
  const answers = await Promise.all(
    keys.map((k, i) => api.confirmTopUp(user, spread(world, n + i), id, k, paymentKey).then((a) => stats.record(a, 'confirm'))),
  );
  await racing;
  await sim.settled(id);
  // What the confirms, the webhooks and the instances' settlers left; a settler finishes the rest.
  let row = await topUpRow(own, id);
  if (row.status === 'processing') stats.count('left processing: a settler finished it');
  for (let tries = 1; row.status === 'processing' && tries <= 50; tries++) {
    await settle(stats, id);
    row = await topUpRow(own, id);
    if (row.status === 'processing') await pause(50);
  }

  const payment = sim.payments().find((p) => p.orderId === id)!;
  const captured = payment.status === 'DONE';
  const outcome = `${payment.status} at the provider (${payment.amount} KRW), the top-up ${row.status}, credited ${row.credits}× for ${row.credited} KRW`;
  if (captured !== fault.captures) fail(`${where}: ${outcome}`);
  else if (
    captured ? row.status !== 'succeeded' || row.credits !== 1 || row.credited !== amount : row.status !== 'failed' || row.credits !== 0
  ) {
    fail(`${where}: ${outcome}`);
  }
  stats.count(captured ? 'captured: credited once' : 'not captured: failed, nothing credited');

  // Every confirm answered as documented, and truthfully.
  for (const a of answers) {
    const body = a.body as TopUp | undefined;
    let truthful: boolean;
    if (a.status === 200) {
      world.claims.fromAnswer('topup', user, a);
      truthful = captured && body?.status === 'succeeded' && body.entry?.amount === amount && body.entry.id === row.entry_id;
    } else if (a.status === 202) {
      world.claims.fromAnswer('topup_answer', user, a);
      truthful = body?.status === 'processing' && body.entry === null;
    } else {
      truthful = a.status === 402 ? !captured && a.code === 'payment_declined' : isBusy(a);
    }
    if (!truthful) fail(`${where}: a confirm answered ${describe(a)} ${JSON.stringify(a.body)?.slice(0, 200)}; ${outcome}`);
  }

  // Under one key: one answer stored (200 or 402; a 202 is not), every other copy its replay; asked
  // again, that replay, or (nothing stored) the outcome afresh; a new key gets the outcome too.
  const final = captured ? 200 : 402;
  for (const k of [...new Set(keys), key()]) {
    const copiesOf = answers.filter((_, i) => keys[i] === k);
    const stored = copiesOf.filter((a) => a.status === 200 || a.status === 402);
    const bodies = new Set(stored.map((a) => JSON.stringify(a.body)));
    if (stored.length && (stored.filter((a) => !a.replayed).length !== 1 || bodies.size !== 1)) {
      fail(`${where}: one key answered ${copiesOf.map(describe).join(', ')} with ${bodies.size} bodies`);
    }
    const again = await untilAnswered(stats, 'confirm again', world.instances, (i) => api.confirmTopUp(user, i, id, k, paymentKey));
    if (!again) continue;
    if (again.status === 200) world.claims.fromAnswer('topup', user, again);
    const same = stored.length ? again.replayed && JSON.stringify(again.body) === [...bodies][0] : !again.replayed;
    if (again.status !== final || !same)
      fail(`${where}: confirmed again with a key that got ${copiesOf.map(describe).join(', ') || 'nothing'}: ${describe(again)}`);
  }

  const got = stats.record(await api.getTopUp(user, spread(world, n + 1), id), 'get top-up');
  const seen = got.body as TopUp | undefined;
  if (got.status !== 200 || seen?.status !== row.status || (seen.entry?.id ?? null) !== row.entry_id) {
    fail(`${where}: GET answered ${describe(got)} ${seen?.status} entry ${seen?.entry?.id}; ${outcome}`);
  }
  // Every webhook was answered 200 (acted on, or a repeat changing nothing), a badly signed one 401.
  const expected = fault.webhooks?.[0]?.kind === 'bad_signature' ? 401 : 200;
  const delivered = sim.deliveries.filter((d) => d.orderId === id).map((d) => d.status);
  if (delivered.some((status) => status !== expected)) fail(`${where}: webhooks answered ${delivered.join(', ')}`);
  stats.count('webhooks delivered', delivered.length);
  stats.count(`rounds: ${fault.name}`);
  won();
}

/**
 * 14. Money in through the payment provider: both instances restarted pointed at the simulator; per
 * round a top-up is made and paid, then confirmed 2–4 times at once across both instances (two
 * copies under one key in half the rounds) while the provider's fault of the round (none, a
 * timeout or a 5xx after capturing, 5xx before, a slow answer, a webhook early, duplicated, late or
 * badly signed, a capture of its own, a decline, another amount paid) and its webhooks (to either
 * instance) race them, and in half the rounds the settler too; the settler then finishes what is
 * left processing. Exactly one outcome: credited once at its amount if and only if the provider
 * captured it, else failed with nothing credited; every confirm 200, 202, 402 (or 409 busy), truthful.
 */
const topUpsThroughProvider: Scenario = {
  id: 14,
  name: 'top-up confirms vs webhooks and the settler, provider faults',
  unavailable: (world) =>
    world.env.own ? undefined : 'needs the service processes pointed at the payment-provider simulator (not with --url)',
  async run(ctx, stats) {
    const own = ctx.world.env.own!;
    const sim = own.provider;
    await restartInstances(own, stats, paymentsEnv(sim));
    sim.webhookUrl = own.instances.map((i) => `${i.baseUrl}/webhooks/payments`);
    try {
      const settle = harnessSettler(own);
      await rounds(ctx, stats, (n) => topUpRound(ctx, stats, settle, n));
    } finally {
      await sim.settled();
      sim.webhookUrl = undefined;
      // Back as launched (no provider: demo top-ups), for the scenarios that come after.
      await restartInstances(own, stats, {});
    }
  },
};

export const SCENARIOS: Scenario[] = [
  joinVsCancel,
  manyJoiners,
  duplicates,
  retryStorm,
  expiryBoundary,
  killedInstance,
  lostDatabase,
  storeVsCancel(8, 'accept'),
  ridersRace,
  storeVsCancel(10, 'reject'),
  acceptDeadline,
  duplicateReject,
  killedDuringDeliveries,
  topUpsThroughProvider,
];

export { ScenarioStats };
