/**
 * Schema-driven fuzzing over the committed OpenAPI document (read at test time): every operation
 * (each path × method) gets valid requests generated from its parameter and body schemas, and
 * mutated ones — wrong types, edge and NaN-like numbers, huge strings, NUL and other control
 * characters, bidi and zero-width characters, deep nesting, extra and missing fields, bad JSON,
 * bodies where none is taken, odd Content-Types, odd If-Match / If-None-Match / Idempotency-Key /
 * Authorization headers, forged cursors and random or real path ids. Ids are real ones (signed-up
 * users, their orders, address, cart and notifications) as well as random ones.
 *
 * It fails on: a 5xx; an error that is not problem+json with type/title/status/detail/instance/
 * code/request_id; no answer within REQUEST_TIMEOUT_MS; a status the operation does not document;
 * a refused (>= 400) POST/PUT/PATCH/DELETE that changed the database (a digest of every table but
 * idempotency_keys, taken before and after with one statement).
 *
 * Seeded: FUZZ_SEED (default below) reproduces the same requests; FUZZ_RUNS sets the requests per
 * operation. Requests go over raw HTTP (node:http): fetch cannot send a GET with a body, a header
 * twice or a header of non-ASCII bytes. The SDK sets the world up.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Schemas } from '../../openapi/client.js';
import {
  ETAG,
  LAST_KEY,
  TOKEN,
  TOKEN_FLIPPED,
  describeRequest,
  describeResponse,
  digestChanges,
  documents,
  isMutating,
  mutatedPlan,
  namedPlans,
  operationsOf,
  problemDefects,
  problemFields,
  readDocument,
  readable,
  seedFor,
  send,
  stateDigest,
  stateTables,
  validPlan,
  type Digest,
  type FuzzContext,
  type FuzzOperation,
  type Plan,
  type Schema,
  type WireRequest,
} from '../support/fuzz.js';
import { openOrder, joinOrder } from '../support/orders.js';
import { useServer } from '../support/use-server.js';
import { JEONJU, newKey, signUp, signUpWithRoles, type TestUser } from '../support/world.js';

const DEFAULT_SEED = 20_250_501;
const SEED = integerFromEnv('FUZZ_SEED', DEFAULT_SEED);
/** Requests drawn per operation, besides the named cases every operation gets. */
const RUNS = integerFromEnv('FUZZ_RUNS', 120);
/** Every fourth request of an operation is a valid one, the others are mutated. */
const VALID_EVERY = 4;
const REQUEST_TIMEOUT_MS = 10_000;
const METRICS_TOKEN = 'fuzz-metrics-token-0123456789abcdef';

function integerFromEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, not ${JSON.stringify(text)}`);
  return value | 0;
}

const DOCUMENT = readDocument(new URL('../../openapi/openapi.json', import.meta.url));
const OPERATIONS = operationsOf(DOCUMENT);
const TABLES = stateTables(new URL('../../migrations/', import.meta.url));

const app = useServer({ METRICS_TOKEN });
let users: TestUser[];
const emails: string[] = [];

/** What the world holds, as the API shows it; refreshed between operations. */
const pools = {
  storeIds: [] as string[],
  mainStoreId: '',
  mainMenuIds: [] as string[],
  menuIds: [] as string[],
  categories: [] as string[],
  orderIds: [] as string[],
  /** Order ids by what an action needs: pending and joinable, overdue, matched. */
  pendingOrderIds: [] as string[],
  overdueOrderIds: [] as string[],
  matchedOrderIds: [] as string[],
  notificationIds: [] as number[],
  cursors: new Map<string, string[]>(),
  overdue: new Set<string>(),
};

const alice = () => users[0];
const bob = () => users[1];
// Staff of the main store, for the store's side of an order.
let staffUser: TestUser;
const staff = () => staffUser;

async function listOrders(user: TestUser): Promise<Schemas['Order'][]> {
  const { data, error } = await user.client.GET('/users/me/orders', { params: { query: { limit: 100 } } });
  if (!data) throw new Error(`listing orders failed: ${JSON.stringify(error)}`);
  return data.items as Schemas['Order'][];
}

/** Orders to act on: pending ones of Alice and Bob, a matched one, an overdue one. */
async function ensureOrders() {
  const menu = pools.mainMenuIds.at(-1)!;
  const open = (user: TestUser, splitType: 'split' | 'separate' = 'split') =>
    openOrder(user, {
      store_id: pools.mainStoreId,
      split_type: splitType,
      items: [{ menu_id: menu, quantity: 1 }],
      delivery: { address: '전북 전주시 덕진구 백제대로 567', ...JEONJU },
    });
  const [ofAlice, ofBob] = [await listOrders(alice()), await listOrders(bob())];
  const live = (o: Schemas['Order']) => o.status === 'pending' && Date.parse(o.expires_at) > Date.now() && !pools.overdue.has(o.id);
  const mine = (orders: Schemas['Order'][], user: TestUser) => orders.filter((o) => o.creator_id === user.user.id);
  for (let n = mine(ofAlice, alice()).filter(live).length; n < 2; n++) await open(alice());
  if (
    !mine(ofBob, bob())
      .filter(live)
      .some((o) => o.split_type === 'split')
  )
    await open(bob());
  if (
    !mine(ofBob, bob())
      .filter(live)
      .some((o) => o.split_type === 'separate')
  )
    await open(bob(), 'separate');
  if (!ofAlice.some((o) => o.status === 'matched')) {
    const { order, etag } = await open(alice());
    await joinOrder(bob(), order.id, etag);
  }
  if (!ofAlice.some((o) => o.status === 'pending' && pools.overdue.has(o.id))) {
    const { order } = await open(alice());
    // Set-up, not a request: an order whose time ran out, for POST /orders/{orderId}/expire.
    await app.db.sql`UPDATE orders SET expires_at = now() - interval '1 minute' WHERE id = ${order.id}`;
    pools.overdue.add(order.id);
  }
}

async function refreshPools() {
  const seen = new Map<string, Schemas['Order']>();
  for (const user of users) for (const o of await listOrders(user)) seen.set(o.id, o);
  pools.orderIds = [...seen.keys()];
  const all = [...seen.values()];
  const overdue = (o: Schemas['Order']) => o.status === 'pending' && (Date.parse(o.expires_at) <= Date.now() || pools.overdue.has(o.id));
  pools.pendingOrderIds = all.filter((o) => o.status === 'pending' && !overdue(o)).map((o) => o.id);
  pools.overdueOrderIds = all.filter(overdue).map((o) => o.id);
  pools.matchedOrderIds = all.filter((o) => o.status === 'matched').map((o) => o.id);
  const ids = new Set<number>();
  for (const user of users) {
    const { data } = await user.client.GET('/users/me/notifications', { params: { query: { limit: 100 } } });
    for (const n of data?.items ?? []) ids.add(n.id);
  }
  pools.notificationIds = [...ids];
}

/** Real next_cursor values of a list operation, one page of one item as each user. */
async function refreshCursors(op: FuzzOperation) {
  const query = ['limit=1'];
  if (op.params.some((p) => p.in === 'query' && p.name === 'lat')) query.push(`lat=${JEONJU.lat}`, `lon=${JEONJU.lon}`);
  const found: string[] = [];
  for (const user of users) {
    const response = await fetch(`${app.server.baseUrl}${op.path}?${query.join('&')}`, {
      headers: { Authorization: `Bearer ${user.token}` },
    });
    const body = (await response.json().catch(() => null)) as { next_cursor?: unknown } | null;
    if (typeof body?.next_cursor === 'string') found.push(body.next_cursor);
  }
  pools.cursors.set(op.id, found);
}

beforeAll(async () => {
  users = [await signUp(app.server.baseUrl, 'Alice'), await signUp(app.server.baseUrl, 'Bob'), await signUp(app.server.baseUrl, 'Carol')];
  emails.push(...users.map((u) => u.user.email!));
  // Alice and Bob: a saved address and credit to spare; Carol: the sign-up grant and no address.
  for (const user of [alice(), bob()]) {
    const address = await user.client.PUT('/users/me/address', {
      params: { header: { 'If-Match': '*' } },
      body: { address: '전북 전주시 덕진구 백제대로 567', ...JEONJU },
    });
    expect(address.response.status).toBe(200);
    const topUp = await user.client.POST('/users/me/credit/top-ups', {
      params: { header: { 'Idempotency-Key': newKey() } },
      body: { amount: 1_000_000 },
    });
    expect(topUp.response.status).toBe(201);
  }
  const categories = await alice().client.GET('/categories');
  pools.categories = categories.data!.items.map((c) => c.name);
  const stores = await alice().client.GET('/stores', { params: { query: { limit: 100 } } });
  pools.storeIds = stores.data!.items.map((s) => s.id);
  // The main store: a chicken place near Jeonbuk National University, where the orders are.
  const near = stores.data!.items.filter((s) => Math.abs(s.lat - JEONJU.lat) < 0.01 && Math.abs(s.lon - JEONJU.lon) < 0.01);
  pools.mainStoreId = (near.find((s) => s.category === '치킨') ?? near[0] ?? stores.data!.items[0]).id;
  for (const storeId of pools.storeIds) {
    const menus = await alice().client.GET('/stores/{storeId}/menus', { params: { path: { storeId } } });
    const ids = menus.data!.items.map((m) => m.id);
    pools.menuIds.push(...ids);
    if (storeId === pools.mainStoreId) pools.mainMenuIds = ids;
  }
  staffUser = await signUpWithRoles(app.server.baseUrl, 'Staff', { staff_of: [pools.mainStoreId] });
  const cart = await alice().client.PUT('/cart/items/{menuId}', {
    params: { path: { menuId: pools.mainMenuIds[0] } },
    body: { quantity: 2 },
  });
  expect(cart.response.status).toBe(200);

  // History: an accepted order and a cancelled one, so there are notifications to read.
  await ensureOrders();
  const done = await openOrder(alice(), {
    store_id: pools.mainStoreId,
    split_type: 'split',
    items: [{ menu_id: pools.mainMenuIds.at(-1)!, quantity: 1 }],
  });
  const joined = await joinOrder(bob(), done.order.id, done.etag);
  const accepted = await staff().client.POST('/orders/{orderId}/accept', {
    params: { path: { orderId: done.order.id }, header: { 'If-Match': joined.etag } },
  });
  expect(accepted.response.status).toBe(200);
  const withdrawn = await openOrder(alice(), {
    store_id: pools.mainStoreId,
    split_type: 'split',
    items: [{ menu_id: pools.mainMenuIds.at(-1)!, quantity: 1 }],
  });
  const cancelled = await alice().client.POST('/orders/{orderId}/cancel', {
    params: { path: { orderId: withdrawn.order.id }, header: { 'If-Match': withdrawn.etag, 'Idempotency-Key': newKey() } },
  });
  expect(cancelled.response.status).toBe(200);
  await refreshPools();
  for (const op of OPERATIONS) if (op.params.some((p) => p.in === 'query' && p.name === 'cursor')) await refreshCursors(op);
}, 120_000);

const uuidOr = (real: string[], weight = 4) =>
  real.length ? fc.oneof({ weight, arbitrary: fc.constantFrom(...real) }, { weight: 1, arbitrary: fc.uuid() }) : fc.uuid();

const context: FuzzContext = {
  get actors() {
    return users.length;
  },
  hint(op: FuzzOperation, name: string, schema: Schema) {
    switch (name) {
      case 'storeId':
      case 'store_id':
        return fc.oneof(
          { weight: 8, arbitrary: fc.constant(pools.mainStoreId) },
          { weight: 2, arbitrary: fc.constantFrom(...pools.storeIds) },
          { weight: 1, arbitrary: fc.uuid() },
        );
      case 'menuId':
      case 'menu_id':
        return fc.oneof(
          { weight: 8, arbitrary: fc.constantFrom(...pools.mainMenuIds) },
          { weight: 2, arbitrary: fc.constantFrom(...pools.menuIds) },
          { weight: 1, arbitrary: fc.uuid() },
        );
      case 'orderId': {
        // Mostly an order the action could apply to, else any real one, else a random id.
        const action = op.path.split('/').at(-1);
        const fitting =
          action === 'expire'
            ? pools.overdueOrderIds
            : action === 'accept' || action === 'reject' || action === 'cancel'
              ? pools.matchedOrderIds
              : pools.pendingOrderIds;
        return fc.oneof(
          { weight: 5, arbitrary: uuidOr(fitting, 20) },
          { weight: 2, arbitrary: uuidOr(pools.orderIds, 20) },
          { weight: 1, arbitrary: fc.uuid() },
        );
      }
      case 'notificationId':
        return pools.notificationIds.length
          ? fc.oneof(
              { weight: 4, arbitrary: fc.constantFrom(...pools.notificationIds) },
              { weight: 1, arbitrary: fc.integer({ min: 1, max: 100_000 }) },
            )
          : undefined;
      case 'category':
        return pools.categories.length
          ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...pools.categories) }, { weight: 1, arbitrary: fc.constant('없는분류') })
          : undefined;
      case 'cursor': {
        const own = pools.cursors.get(op.id) ?? [];
        // No real cursor: leave the parameter out of a valid request.
        return own.length ? fc.constantFrom(...own) : fc.constant(undefined);
      }
      case 'lat':
      case 'lon': {
        const centre = name === 'lat' ? JEONJU.lat : JEONJU.lon;
        const anywhere = name === 'lat' ? { min: -90, max: 90 } : { min: -180, max: 180 };
        return fc.oneof(
          { weight: 4, arbitrary: fc.double({ min: centre - 0.002, max: centre + 0.002, noNaN: true }) },
          {
            weight: 1,
            arbitrary: fc.double({
              min: schema.minimum ?? anywhere.min,
              max: schema.maximum ?? anywhere.max,
              noNaN: true,
              noDefaultInfinity: true,
            }),
          },
        );
      }
      case 'email':
        return fc.oneof(
          { weight: 1, arbitrary: fc.constantFrom(...emails) },
          { weight: 1, arbitrary: fc.constantFrom(...emails).map((e) => e.toUpperCase()) },
          {
            weight: 3,
            arbitrary: fc
              .tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,15}$/), fc.constantFrom('', '.', '_', '-', '+'), fc.nat(99_999))
              .map(([local, sep, n]) => `${local}${sep}${n}@example.com`),
          },
        );
      default:
        return undefined;
    }
  },
  // The user's bearer token; the operator's METRICS_TOKEN for /metrics (whatever scheme the document names for it).
  authorization: (op) => (op.path === '/metrics' ? `Bearer ${METRICS_TOKEN}` : op.security.length ? `Bearer ${TOKEN}` : undefined),
  cursors: (op) => ({ own: pools.cursors.get(op.id) ?? [], all: [...pools.cursors.values()].flat() }),
  get realIds() {
    return [...users.map((u) => u.user.id), ...pools.orderIds.slice(0, 10), ...pools.storeIds.slice(0, 3), ...pools.menuIds.slice(0, 3)];
  },
};

// ---------------------------------------------------------------------------------------------
// Sending a plan
// ---------------------------------------------------------------------------------------------

const lastKeys = new Map<number, string>();

/** The GET whose ETag an operation's If-Match refers to: the longest GET path that prefixes it and takes If-None-Match. */
function resourceOf(op: FuzzOperation): FuzzOperation | undefined {
  return OPERATIONS.filter(
    (o) =>
      o.method === 'GET' &&
      o.params.some((p) => p.name.toLowerCase() === 'if-none-match') &&
      (op.path === o.path || op.path.startsWith(`${o.path}/`)),
  ).sort((a, b) => b.path.length - a.path.length)[0];
}

const fillPath = (template: string, values: Record<string, string>) =>
  template.replace(/\{([^}]+)\}/g, (_, name: string) => values[name] ?? 'missing');

function flipped(token: string): string {
  const i = token.length - 5;
  return token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
}

async function currentEtag(op: FuzzOperation, plan: Plan): Promise<string> {
  const resource = resourceOf(op);
  if (!resource) return '"v1"';
  const response = await fetch(app.server.baseUrl + fillPath(resource.path, plan.path), {
    headers: { Authorization: `Bearer ${users[plan.actor].token}` },
  });
  await response.arrayBuffer();
  return response.headers.get('etag') ?? '"v1"';
}

async function wire(op: FuzzOperation, plan: Plan): Promise<WireRequest> {
  // A logout may end every session of its user: it is sent as a user of its own, so the others' go on.
  const token = op.id === 'logout' ? (await signUp(app.server.baseUrl, 'Leaving')).token : users[plan.actor].token;
  const needsEtag = plan.headers.some(([, v]) => v.includes(ETAG));
  const etag = needsEtag ? await currentEtag(op, plan) : '';
  const headers = plan.headers.map(([name, value]): [string, string] => [
    name,
    value
      .replaceAll(TOKEN_FLIPPED, flipped(token))
      .replaceAll(TOKEN, token)
      .replaceAll(ETAG, etag)
      .replaceAll(LAST_KEY, lastKeys.get(plan.actor) ?? 'a-key-never-used-before'),
  ]);
  const path = fillPath(op.path, plan.path);
  return {
    method: op.method,
    target: plan.query.length ? `${path}?${plan.query.join('&')}` : path,
    headers,
    body: plan.body,
    chunked: plan.chunked,
  };
}

/** What the server logged as the error of a request (its pino line), to say why it answered 5xx. */
function serverErrorOf(requestId: string | undefined): string {
  if (requestId === undefined) return '';
  for (const line of app.server.logs) {
    if (!line.includes(requestId)) continue;
    try {
      const entry = JSON.parse(line) as { level?: number; err?: { type?: string; message?: string; code?: string } };
      if ((entry.level ?? 0) >= 40 && entry.err)
        return `${entry.err.type ?? 'Error'}${entry.err.code ? ` ${entry.err.code}` : ''}: ${entry.err.message}`;
    } catch {
      // not a JSON line
    }
  }
  return '';
}

// ---------------------------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------------------------

type Rule =
  | '5xx'
  | 'not a problem+json'
  | 'no answer in time (a hang or a broken connection)'
  | 'state changed by a refused request'
  | 'undocumented status';

interface Failure {
  rule: Rule;
  op: FuzzOperation;
  plan: Plan;
  index: number;
  request: WireRequest;
  answer: string;
  why: string;
  status?: number;
  code?: string;
  /** The problem's detail, when the answer had one. */
  detail?: string;
  /** The X-Request-Id of the answer, to find what the server logged. */
  requestId?: string;
}

const failures: Failure[] = [];
const stats = new Map<string, { valid: number; mutated: number; statuses: Map<number, number>; validStatuses: Map<number, number> }>();
let requestsSent = 0;
/** Accepted mutating requests whose digest changed: proof that the digest sees changes. */
let changesSeen = 0;
/**
 * Requests valid by the document's schemas that the server refused as invalid (400
 * validation_failed): not a failure (the server may check more than a schema can say), but a
 * difference between the contract and the service worth a look; printed, one per operation and detail.
 */
const refusedValid = new Map<string, string>();

/**
 * What tells failures of one operation and status apart: the problem's detail with ids and numbers
 * blanked, or, when the detail says nothing (an internal error, no problem at all), what was mutated.
 */
function causeOf(f: Failure): string {
  const logged = f.status !== undefined && f.status >= 500 ? serverErrorOf(f.requestId) : '';
  if (logged) return `{server logged ${logged.slice(0, 120)}}`;
  if (f.detail !== undefined && f.code !== 'internal_error') {
    const blanked = f.detail
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<id>')
      .replace(/"[^"]*"/g, '"…"')
      .replace(/\d+/g, 'N');
    return `(${blanked.slice(0, 90)})`;
  }
  return `[${f.plan.kind.split(' + ')[0]}]`;
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);

function report(): string {
  const groups = new Map<string, Failure[]>();
  for (const f of failures) {
    const key = `${f.rule} | ${f.op.method} ${f.op.path} → ${f.status ?? 'no answer'} ${f.code ?? ''} ${causeOf(f)}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const rules: Rule[] = [
    '5xx',
    'not a problem+json',
    'no answer in time (a hang or a broken connection)',
    'state changed by a refused request',
    'undocumented status',
  ];
  const lines = [
    `fuzz: ${failures.length} failing requests of ${requestsSent}, in ${groups.size} groups (seed ${SEED}; rerun with FUZZ_SEED=${SEED} npx vitest run test/blackbox/fuzz.test.ts)`,
  ];
  for (const rule of rules) {
    const mine = [...groups.entries()].filter(([, fs]) => fs[0].rule === rule);
    if (!mine.length) continue;
    lines.push(
      '',
      `=== ${rule}${rule === 'undocumented status' ? ' (reported separately; they count as failures)' : ''}: ${mine.length} groups ===`,
    );
    for (const [key, fs] of mine) {
      const first = fs[0];
      lines.push(
        '',
        `--- ${key.slice(rule.length + 3)} ×${fs.length}`,
        `seed ${SEED}, request #${first.index} of ${first.op.id} (${first.plan.kind}: ${clip(readable(first.plan.note), 200)}); actor ${first.plan.actor}`,
        describeRequest(first.request),
        `→ ${first.answer}`,
        `broke: ${first.why}${first.rule === '5xx' && serverErrorOf(first.requestId) ? `; the server logged ${serverErrorOf(first.requestId)}` : ''}`,
      );
      const others = [...new Set(fs.slice(1).map((f) => `#${f.index} ${f.plan.kind}: ${clip(readable(f.plan.note), 160)}`))].slice(0, 4);
      if (others.length) lines.push(`also: ${others.join(' | ')}`);
    }
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

describe(`fuzzing every operation of openapi/openapi.json (seed ${SEED})`, () => {
  it('answers valid and mutated requests within bounds, as documented problems, and refusals change nothing', async () => {
    const started = performance.now();
    /** The digest after the last request, while nothing else has run since. */
    let digest: Digest | undefined;
    for (const op of OPERATIONS) {
      await ensureOrders();
      await refreshPools();
      if (op.params.some((p) => p.in === 'query' && p.name === 'cursor')) await refreshCursors(op);
      digest = undefined;
      const counts = { valid: 0, mutated: 0, statuses: new Map<number, number>(), validStatuses: new Map<number, number>() };
      stats.set(op.id, counts);
      // RUNS requests drawn by the seed (every VALID_EVERY-th valid), then the named cases, each once.
      const named = namedPlans(op, context);
      for (let index = 0; index < RUNS + named.length; index++) {
        const valid = index < RUNS && index % VALID_EVERY === 0;
        const arbitrary = index >= RUNS ? named[index - RUNS] : valid ? validPlan(op, context) : mutatedPlan(op, context);
        const [plan] = fc.sample(arbitrary, { seed: seedFor(SEED, op.id, index), numRuns: 1 });
        const request = await wire(op, plan);
        // Reading the ETag, or signing in the session a logout is sent with, may have changed the state.
        if (plan.headers.some(([, v]) => v.includes(ETAG)) || op.id === 'logout') digest = undefined;
        const mutating = isMutating(op.method);
        const before = mutating ? (digest ?? (await stateDigest(app.db.sql, TABLES))) : undefined;
        const outcome = await send(app.server.baseUrl, request, REQUEST_TIMEOUT_MS);
        requestsSent++;
        if (valid) counts.valid++;
        else counts.mutated++;
        const key = request.headers.find(([n]) => n.toLowerCase() === 'idempotency-key')?.[1];
        if (key !== undefined) lastKeys.set(plan.actor, key);
        const requestId = outcome.ok ? outcome.response.headers['x-request-id'] : undefined;
        const fail = (rule: Rule, why: string, status?: number, code?: string, answer = '', detail?: string) =>
          failures.push({
            rule,
            op,
            plan,
            index,
            request,
            answer,
            why,
            status,
            code,
            detail,
            requestId: typeof requestId === 'string' ? requestId : undefined,
          });
        if (!outcome.ok) {
          fail(
            'no answer in time (a hang or a broken connection)',
            outcome.error,
            undefined,
            undefined,
            `${outcome.error} after ${Math.round(outcome.ms)} ms`,
          );
          digest = undefined;
          continue;
        }
        const res = outcome.response;
        const tally = valid ? counts.validStatuses : counts.statuses;
        tally.set(res.status, (tally.get(res.status) ?? 0) + 1);
        const { code, detail } = res.status >= 400 ? problemFields(res) : {};
        const answer = describeResponse(res);
        if (valid && code === 'validation_failed') {
          const key = `${op.method} ${op.path}: ${detail}`;
          if (!refusedValid.has(key)) refusedValid.set(key, `${describeRequest(request)}\n→ ${answer}`);
        }
        if (res.status >= 500) fail('5xx', `a ${res.status} (server error)`, res.status, code, answer, detail);
        if (res.status >= 400) {
          const defects = problemDefects(res);
          if (defects.length) fail('not a problem+json', defects.join('; '), res.status, code, answer, detail);
        }
        if (!documents(op, res.status))
          fail(
            'undocumented status',
            `${op.method} ${op.path} documents ${op.responses.join(', ')}, not ${res.status}`,
            res.status,
            code,
            answer,
            detail,
          );
        if (res.ms > REQUEST_TIMEOUT_MS)
          fail('no answer in time (a hang or a broken connection)', `answered after ${Math.round(res.ms)} ms`, res.status, code, answer);
        if (mutating) {
          const after = await stateDigest(app.db.sql, TABLES);
          if (res.status >= 400 && before) {
            const changes = digestChanges(before, after);
            if (changes.length)
              fail(
                'state changed by a refused request',
                `refused with ${res.status}, yet changed ${changes.join(', ')}`,
                res.status,
                code,
                answer,
                detail,
              );
          }
          if (res.status < 300 && before && digestChanges(before, after).length) changesSeen++;
          digest = after;
        } else digest = undefined;
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const tally = (m: Map<number, number>) =>
      [...m.entries()]
        .sort(([a], [b]) => a - b)
        .map(([st, n]) => `${st}×${n}`)
        .join(' ');
    const table = [...stats.entries()].map(
      ([id, s]) =>
        `  ${id.padEnd(22)} valid ${String(s.valid).padStart(3)} (${tally(s.validStatuses)})  mutated ${String(s.mutated).padStart(3)} (${tally(s.statuses)})`,
    );
    console.log(
      `fuzz: seed ${SEED}, ${OPERATIONS.length} operations, ${requestsSent} requests in ${seconds.toFixed(1)} s\n${table.join('\n')}`,
    );
    if (refusedValid.size) {
      console.log(
        `fuzz: requests valid by the schemas but refused as invalid (not failures):\n${[...refusedValid.entries()].map(([k, v]) => `* ${k}\n${v}`).join('\n')}`,
      );
    }
    expect(changesSeen, 'accepted requests that changed the digest').toBeGreaterThan(0);

    // Every operation was reached with both kinds of request.
    for (const op of OPERATIONS) {
      expect(stats.get(op.id)?.valid, `${op.id} valid requests`).toBeGreaterThan(0);
      expect(stats.get(op.id)?.mutated, `${op.id} mutated requests`).toBeGreaterThan(0);
    }
    if (failures.length) throw new Error(report());
  }, 300_000);
});
