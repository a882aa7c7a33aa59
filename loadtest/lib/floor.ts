/**
 * The floor's script, learnt from the service at the bench's start, and the check that the floor
 * server replays it faithfully.
 *
 * The service runs once more, alone, with one pool connection, behind a wire tap (wire-tap.ts).
 * For each scenario it gets a warm-up request (its statements get prepared, as they are in a
 * running service) and then two requests whose statements are recorded: those two must send the
 * same statements in the same round trips, and each parameter that differs between them must be
 * one of the request's named values (floor-script.ts's BINDINGS), else the floor could not fill it
 * in and the bench stops. A parameter the same in both, and none of those values, is a constant.
 *
 * Then the floor server runs behind a tap the same way, with the same kind of requests: its
 * script, learnt from its own statements, must equal the service's, and its answers must be the
 * service's (the same JSON for the same reads, the same shape for actions), else the bench stops.
 * So a refactoring of the service's statements changes what the floor sends, and one the floor
 * cannot follow is told, with the statement and the parameter, rather than measured wrongly.
 */
import { isDeepStrictEqual } from 'node:util';
import type postgres from 'postgres';
import { batchUsers, insertOrders, md5Uuid, menuId, storeId, type Area } from './data.js';
import {
  BINDINGS,
  CREATE_ROUTE,
  FLOOR_SCENARIOS,
  JOIN_ROUTE,
  ORDER_ROUTE,
  parsePgArray,
  type Exchange,
  type FloorScenario,
  type FloorScript,
  type OrderFacts,
  type ScriptParam,
  type ScriptStatement,
} from './floor-script.js';
import type { HttpRequest } from './load.js';
import type { Spawned } from './processes.js';
import { createRequest, getOrderRequest, joinRequest } from './requests.js';
import { startWireTap, type WireStatement, type WireTap } from './wire-tap.js';
import { isRevocationPoll } from '../../test/support/statement-tap.js';

interface PlannedRequest {
  request: HttpRequest;
  userId: string;
}

/** Per scenario: a warm-up request, then the two whose statements are compared. */
type Plan = Record<FloorScenario, [PlannedRequest, PlannedRequest, PlannedRequest]>;

interface Captured {
  planned: PlannedRequest;
  status: number;
  headers: Headers;
  bodyText: string;
  statements: WireStatement[];
}

const EXPECTED: Record<FloorScenario, number> = { get: 200, 'get-304': 304, join: 200, create: 201 };
const ROUTES: Record<FloorScenario, string> = { get: ORDER_ROUTE, 'get-304': ORDER_ROUTE, join: JOIN_ROUTE, create: CREATE_ROUTE };

const firstLine = (sql: string) => sql.trim().split('\n')[0].slice(0, 90);

async function send(server: Spawned, tap: WireTap, planned: PlannedRequest): Promise<Captured> {
  const before = tap.statements.length;
  const { method, path, headers, body } = planned.request;
  const response = await fetch(server.baseUrl + path, { method, headers, body });
  const bodyText = await response.text();
  // The tap records a statement before it forwards it: the request's are all there by now. Left
  // out: the service's once-a-second poll of revoked sessions (its own clock, no request's) and
  // the rate limiter's counter (this API's rule, not the bare stack's: the floor does without it,
  // so the service's figure against the floor includes what the limiter costs).
  const statements = tap.statements.slice(before).filter((s) => !isRevocationPoll(s) && !/\brate_limits\b/.test(s.sql));
  return { planned, status: response.status, headers: response.headers, bodyText, statements };
}

async function captureFrom(
  server: Spawned,
  tap: WireTap,
  plan: Plan,
  signIn: string[],
): Promise<Record<FloorScenario, [Captured, Captured]>> {
  // The tokens become known (the service looks their users up once): no user lookup in what is recorded.
  for (const authorization of signIn) {
    const response = await fetch(`${server.baseUrl}/users/me`, { headers: { authorization } });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`floor capture: GET /users/me answered ${response.status}`);
  }
  const out = {} as Record<FloorScenario, [Captured, Captured]>;
  for (const scenario of FLOOR_SCENARIOS) {
    const [warm, a, b] = plan[scenario];
    await send(server, tap, warm);
    out[scenario] = [await send(server, tap, a), await send(server, tap, b)];
  }
  return out;
}

function exchangeOf(scenario: FloorScenario, c: Captured): Exchange {
  const { request, userId } = c.planned;
  const orderId = scenario === 'create' ? undefined : request.path.split('/')[2];
  return {
    method: request.method,
    route: ROUTES[scenario],
    params: orderId ? { orderId } : {},
    header: (name) => request.headers?.[name.toLowerCase()],
    body: request.body === undefined ? undefined : (JSON.parse(request.body) as unknown),
    userId,
    order: () => JSON.parse(c.bodyText) as OrderFacts,
    answer: () => ({
      status: c.status,
      etag: c.headers.get('etag') ?? '',
      location: c.headers.get('location') ?? undefined,
      bodyText: c.bodyText,
    }),
  };
}

/** The request's named values, as texts; a value its exchange cannot give is left out. */
function bindingsOf(scenario: FloorScenario, c: Captured): [string, string | null][] {
  const x = exchangeOf(scenario, c);
  return Object.entries(BINDINGS[scenario]).flatMap(([name, binding]) => {
    try {
      return [[name, binding(x)] as [string, string | null]];
    } catch {
      return [];
    }
  });
}

function tripsOf(c: Captured): WireStatement[][] {
  const trips: WireStatement[][] = [];
  for (const s of c.statements) {
    const last = trips.at(-1);
    if (last && last[0].roundTrip === s.roundTrip) last.push(s);
    else trips.push([s]);
  }
  return trips;
}

/**
 * What a parameter is, from its texts in two requests: one of their named values (the same name
 * in both), a constant, or an array literal of such; undefined when it is none of them.
 */
function paramOf(value: string | null, otherValue: string | null, bindings: [string, string | null][][]): ScriptParam | undefined {
  const name = bindings[0].find(([n, v]) => v === value && bindings[1].some(([m, w]) => m === n && w === otherValue))?.[0];
  if (name) return { from: name };
  if (value === otherValue) return { text: value };
  const [elements, otherElements] = [parsePgArray(value), parsePgArray(otherValue)];
  if (!elements || !otherElements || elements.length !== otherElements.length) return undefined;
  const params = elements.map((e, i) => paramOf(e, otherElements[i], bindings));
  return params.every((p) => p !== undefined) ? { elements: params } : undefined;
}

/**
 * The trips with a trip of only COMMIT joined to the one before. The floor writes a trip's
 * statements without waiting between them, as the service does; but postgres.js writes the COMMIT
 * in a write of its own, and when PostgreSQL answers the statement before it first, the tap counts
 * the COMMIT as a round trip of its own although nobody waited for anything.
 */
function joinLoneEnds(trips: ScriptStatement[][]): ScriptStatement[][] {
  const joined: ScriptStatement[][] = [];
  for (const trip of trips) {
    if (joined.length > 0 && trip.length === 1 && /^\s*commit\b/i.test(trip[0].sql))
      joined[joined.length - 1] = [...joined.at(-1)!, ...trip];
    else joined.push(trip);
  }
  return joined;
}

/** The script of one scenario from two requests' statements; throws when they cannot make one. */
function scriptOf(who: string, scenario: FloorScenario, captured: [Captured, Captured]): ScriptStatement[][] {
  const fail = (why: string) => {
    throw new Error(`floor: ${who}'s statements for ${scenario}: ${why}`);
  };
  for (const c of captured) {
    if (c.status !== EXPECTED[scenario]) fail(`a request was answered ${c.status}, not ${EXPECTED[scenario]}: ${c.bodyText.slice(0, 300)}`);
    if (c.statements.length === 0) fail('no statement was sent');
    const first = c.statements[0].roundTrip;
    for (const s of c.statements) {
      if (s.failed) fail(`"${firstLine(s.sql)}" failed`);
      if (s.named && s.parsedIn >= first) {
        fail(`"${firstLine(s.sql)}" was prepared during the request, after a warm-up request: its text changes between requests`);
      }
    }
  }
  const [a, b] = captured.map(tripsOf);
  const bindings = captured.map((c) => bindingsOf(scenario, c));
  const shape = (trips: WireStatement[][]) =>
    trips.map((t) => t.map((s) => `${s.simple ? 'Q' : s.named ? 'P' : 'U'} ${s.paramTypes.join(',')} ${s.sql}`));
  if (!isDeepStrictEqual(shape(a), shape(b))) {
    fail(
      `two requests sent different statements or round trips:\n${JSON.stringify(shape(a), null, 1)}\nvs\n${JSON.stringify(shape(b), null, 1)}`,
    );
  }
  return a.map((trip, t) =>
    trip.map((s, i) => {
      const other = b[t][i];
      const params = s.params.map((value, p): ScriptParam => {
        const otherValue = other.params[p];
        const param = paramOf(value, otherValue, bindings);
        if (param) return param;
        return fail(
          `parameter $${p + 1} of "${firstLine(s.sql)}" differs between two requests (${JSON.stringify(value)?.slice(0, 80)} vs ` +
            `${JSON.stringify(otherValue)?.slice(0, 80)}) and is none of the values the floor makes ` +
            `(${Object.keys(BINDINGS[scenario]).join(', ')} in loadtest/lib/floor-script.ts)`,
        );
      });
      if (s.rows > 0 !== other.rows > 0) fail(`"${firstLine(s.sql)}" returned rows for one request and none for the other`);
      return { sql: s.sql, simple: s.simple, named: s.named, types: s.paramTypes, params, returnsRows: s.rows > 0 };
    }),
  );
}

/** Ids and instants left out: what two answers about different orders still have in common. */
function masked(value: unknown, deep: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => masked(v, deep));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, masked(v, deep)]));
  }
  if (!deep) return typeof value;
  if (typeof value === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) return '<uuid>';
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(value)) return '<instant>';
  return value;
}

/** The floor's answers against the service's: the same JSON (read), or the same up to ids and instants (create), or shape (join). */
function compareAnswers(scenario: FloorScenario, service: Captured, floor: Captured): string | undefined {
  const parse = (c: Captured) => (c.bodyText ? (JSON.parse(c.bodyText) as unknown) : undefined);
  const [s, f] = [parse(service), parse(floor)];
  const same =
    scenario === 'get' || scenario === 'get-304'
      ? isDeepStrictEqual(s, f)
      : scenario === 'create'
        ? isDeepStrictEqual(masked(s, true), masked(f, true))
        : isDeepStrictEqual(masked(s, false), masked(f, false));
  if (!same) return `the floor answered ${floor.bodyText.slice(0, 600)}\nwhere the service answered ${service.bodyText.slice(0, 600)}`;
  const etag = (c: Captured) => (scenario.startsWith('get') ? c.headers.get('etag') : /^"v\d+"$/.test(c.headers.get('etag') ?? ''));
  if (etag(service) !== etag(floor)) return `ETag ${floor.headers.get('etag')} where the service sent ${service.headers.get('etag')}`;
  if (scenario === 'create' && floor.headers.get('location') !== `/orders/${(f as { id: string }).id}`)
    return `Location ${floor.headers.get('location')}`;
  return undefined;
}

export interface FloorCaptureOptions {
  sql: postgres.Sql;
  databaseUrl: string;
  /** A label that keeps this run's capture orders and keys apart from others'. */
  tag: string;
  users: number;
  /** The Authorization header of user n. */
  token: (n: number) => string;
  userId: (n: number) => string;
  area: Area;
  /** The service as the bench starts it, on another database URL, with one pool connection. */
  startService: (databaseUrl: string) => Promise<Spawned>;
  /** The floor server with a script, on another database URL, with one pool connection. */
  startFloor: (databaseUrl: string, script: FloorScript) => Promise<Spawned>;
  log: (line: string) => void;
}

/**
 * Learns the script from the service and checks the floor against it; throws, saying why, when
 * either cannot be done. Uses a dozen pending orders of its own and a few users' credit.
 */
export async function learnFloorScript(o: FloorCaptureOptions): Promise<FloorScript> {
  const started = Date.now();
  const batch = `floor-capture-${o.tag}`;
  await insertOrders(o.sql, { tag: batch, count: 12, users: o.users, kind: 'pending', area: o.area });
  const orders = Array.from({ length: 12 }, (_, g) => md5Uuid(`bench-order-${batch}-${g}`));
  // Three users who created none of these orders: the viewers, joiners and creators of the capture.
  const creators = new Set(orders.map((_, g) => batchUsers(g, o.users).creator));
  const people: number[] = [];
  for (let n = o.users - 1; people.length < 3; n--) if (!creators.has(n)) people.push(n);

  const planFor = (who: 'service' | 'floor', joinOrders: number[]): Plan => {
    const as = (k: number, request: HttpRequest): PlannedRequest => ({ request, userId: o.userId(people[k]) });
    const key = (scenario: string, k: number) => `${batch}-${who}-${scenario}-${k}`;
    // The same reads for both (their answers must be equal); actions on orders of their own.
    const get = (k: number, order: number, withTag: boolean) =>
      as(k, getOrderRequest({ id: orders[order], version: 1 }, o.token(people[k]), withTag));
    const join = (k: number, order: number) => as(k, joinRequest(orders[order], o.token(people[k]), key('join', k)));
    // One store and menu per slot, the same for both: the two answers differ only by ids and instants.
    const create = (k: number) =>
      as(
        k,
        createRequest({
          authorization: o.token(people[k]),
          key: key('create', k),
          storeId: storeId(7 + k),
          menuId: menuId(7 + k, k % 2),
          address: `${batch}-${k}`,
          lat: o.area.lat0 + 0.01 * (k + 1),
          lon: o.area.lon0 + 0.01 * (k + 1),
        }),
      );
    return {
      get: [get(2, 2, false), get(0, 0, false), get(1, 1, false)],
      'get-304': [get(2, 2, true), get(0, 0, true), get(1, 1, true)],
      join: [join(2, joinOrders[0]), join(0, joinOrders[1]), join(1, joinOrders[2])],
      create: [create(2), create(0), create(1)],
    };
  };

  const run = async <T>(start: (url: string) => Promise<Spawned>, work: (server: Spawned, tap: WireTap) => Promise<T>): Promise<T> => {
    const tap = await startWireTap(o.databaseUrl);
    try {
      const server = await start(tap.url);
      try {
        return await work(server, tap);
      } finally {
        await server.stop();
      }
    } finally {
      await tap.close();
    }
  };

  const signIn = people.map((n) => o.token(n));
  const service = await run(o.startService, (server, tap) => captureFrom(server, tap, planFor('service', [3, 4, 5]), signIn));
  const script = Object.fromEntries(FLOOR_SCENARIOS.map((s) => [s, scriptOf('the service', s, service[s])])) as FloorScript;

  const floor = await run(
    (url) => o.startFloor(url, script),
    (server, tap) => captureFrom(server, tap, planFor('floor', [6, 7, 8]), []),
  );
  for (const scenario of FLOOR_SCENARIOS) {
    const own = scriptOf('the floor', scenario, floor[scenario]);
    if (!isDeepStrictEqual(joinLoneEnds(own), joinLoneEnds(script[scenario]))) {
      throw new Error(
        `floor: for ${scenario} the floor sent\n${JSON.stringify(own, null, 1)}\nwhere the service sent\n${JSON.stringify(script[scenario], null, 1)}`,
      );
    }
    for (const k of [0, 1] as const) {
      const wrong = compareAnswers(scenario, service[scenario][k], floor[scenario][k]);
      if (wrong) throw new Error(`floor: ${scenario}: ${wrong}`);
    }
  }
  const described = FLOOR_SCENARIOS.map((s) => {
    const trips = script[s];
    return `${s} ${trips.length} round trip${trips.length === 1 ? '' : 's'} (${trips.map((t) => t.length).join('+')} statements)`;
  });
  o.log(
    `floor: learnt the service's statements (${described.join('; ')}); the floor sends the same and answers alike (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  return script;
}
