/**
 * The floor: the service's hot paths on the bare stack they are built from — hono on
 * @hono/node-server, postgres.js — without zod-openapi, kysely or the service's middleware. It
 * answers GET /orders/{id} (200, or 304 on a matching If-None-Match), POST /orders/{id}/join and
 * POST /orders with equivalent JSON, by sending the service's own statements: the bench captures
 * them from the service at its start and hands them over as a script (loadtest/lib/floor-script.ts),
 * with the same texts, parameters, preparation and round trips. What the service spends per
 * request beyond this server's CPU is what its framework and design cost.
 *
 * It keeps what any server of this API must do: authenticate (a token verified once, then
 * remembered), read the body (from Node's stream, as the service does), make the idempotency
 * fingerprint, present the order. It refuses rather than explains: an action whose statement
 * finds nothing is rolled back and answered 409, a missing order 404.
 *
 * Started by bench.ts as its own process, with FLOOR_SCRIPT (the script, JSON), AUTH_PUBLIC_KEY,
 * DATABASE_URL, PORT and the service's pool settings (DB_POOL_MAX, LOCK_WAIT_MS,
 * STATEMENT_TIMEOUT_MS, DB_CONNECT_TIMEOUT_S).
 */
import { serve, type HttpBindings } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { importJWK, jwtVerify } from 'jose';
import postgres from 'postgres';
import { v7 as uuidv7 } from 'uuid';
import { shares } from '../src/domain/pricing.js';
import {
  BINDINGS,
  CREATE_ROUTE,
  JOIN_ROUTE,
  ORDER_ROUTE,
  paramText,
  type Answer,
  type Exchange,
  type FloorScenario,
  type FloorScript,
  type OrderFacts,
  type ScriptStatement,
} from './lib/floor-script.js';

const env = (name: string, fallback?: string) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`floor-server: ${name} is not set`);
  return value;
};
const script = JSON.parse(env('FLOOR_SCRIPT')) as FloorScript;
const publicKey = await importJWK(JSON.parse(env('AUTH_PUBLIC_KEY')) as Record<string, string>, 'ES256');
const statementTimeoutMs = Number(env('STATEMENT_TIMEOUT_MS', '5000'));

// Every parameter arrives as the text to send (what the service's postgres.js made of its
// values): each serializer passes text through, where postgres.js would JSON-encode it for a
// json column, map it to t/f for a boolean, and so on. The parsers are postgres.js's own, with
// the service's int8 one.
const asSent = (value: unknown) => value as string;
const sql = postgres(env('DATABASE_URL'), {
  max: Number(env('DB_POOL_MAX', '16')),
  connect_timeout: Number(env('DB_CONNECT_TIMEOUT_S', '5')),
  idle_timeout: 60,
  onnotice: () => {},
  types: {
    bigint: { to: 20, from: [20], serialize: asSent, parse: (v: string) => Number(v) },
    json: { to: 114, from: [114, 3802], serialize: asSent, parse: (v: string) => JSON.parse(v) as unknown },
    boolean: { to: 16, from: [16], serialize: asSent, parse: (v: string) => v === 't' },
    date: { to: 1184, from: [1082, 1114, 1184], serialize: asSent, parse: (v: string) => new Date(v) },
    bytea: { to: 17, from: [17], serialize: asSent, parse: (v: string) => Buffer.from(v.slice(2), 'hex') },
  },
  // The service's session: its name (the bench waits for its backends by it) and its bounds.
  connection: {
    application_name: 'co-order',
    lock_timeout: Number(env('LOCK_WAIT_MS', '2000')),
    statement_timeout: statementTimeoutMs,
    idle_in_transaction_session_timeout: statementTimeoutMs * 2,
  } as Record<string, string | number>,
});

type Row = Record<string, unknown>;
type Outcome = { kind: 'done' } | { kind: 'refused' } | { kind: 'replay'; stored: Row };

const BEGINS = /^\s*(start transaction|begin)\b/i;
const ENDS = /^\s*(commit|rollback|end)\b/i;

/** A statement's parameters: the script's constants and the request's named values. */
function paramsOf(s: ScriptStatement, value: (name: string) => string | null): unknown[] {
  return s.params.map((p, i) => {
    const text = paramText(p, value);
    return s.types[i] && text !== null ? sql.typed(text, s.types[i]) : text;
  });
}

function send(connection: postgres.ReservedSql, s: ScriptStatement, params: unknown[]): Promise<Row[]> {
  if (s.simple) return connection.unsafe(s.sql) as unknown as Promise<Row[]>;
  return connection.unsafe(s.sql, params as postgres.ParameterOrJSON<never>[], { prepare: s.named }) as unknown as Promise<Row[]>;
}

/**
 * Sends a scenario's round trips, each on a connection reserved for it, or for the transaction it
 * is part of (from its BEGIN to its COMMIT), each trip's statements written together. `results`
 * gets every statement's rows as they come, for the values later parameters are made of.
 */
async function replay(trips: ScriptStatement[][], value: (name: string) => string | null, results: Row[][]): Promise<Outcome> {
  let transaction: postgres.ReservedSql | undefined;
  try {
    for (const trip of trips) {
      // Every parameter first: what a trip sends is made of the rows of the trips before it.
      const params = trip.map((s) => paramsOf(s, value));
      const connection = transaction ?? (await sql.reserve());
      let inTransaction = transaction !== undefined;
      const sent = trip.map((s, i) => {
        if (BEGINS.test(s.sql)) inTransaction = true;
        const wasIn = inTransaction;
        if (ENDS.test(s.sql)) inTransaction = false;
        return { s, wasIn, rows: send(connection, s, params[i]) };
      });
      transaction = inTransaction ? connection : undefined;
      const settled = await Promise.allSettled(sent.map((x) => x.rows));
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) {
        if (!transaction) connection.release();
        throw failed.reason;
      }
      let refused = false;
      for (const [i, { s, wasIn }] of sent.entries()) {
        const rows = (settled[i] as PromiseFulfilledResult<Row[]>).value;
        results.push(rows);
        if (s.simple) continue;
        // A stored answer where the service found none: a replay (only outside the transaction).
        if (!s.returnsRows && rows.length > 0 && !wasIn && 'response_body' in rows[0]) {
          connection.release();
          return { kind: 'replay', stored: rows[0] };
        }
        // Nothing where the service had a row, or a condition answered false (a short balance).
        if ((s.returnsRows && rows.length === 0) || (wasIn && rows.some((r) => Object.values(r).includes(false)))) refused = true;
      }
      if (refused) {
        if (transaction) await connection.unsafe('rollback');
        connection.release();
        transaction = undefined;
        return { kind: 'refused' };
      }
      if (!transaction) connection.release();
    }
    return { kind: 'done' };
  } catch (error) {
    if (transaction) {
      await transaction.unsafe('rollback').catch(() => {});
      transaction.release();
    }
    throw error;
  }
}

// ---------------------------------------------------------------- what any server of this API does

const verified = new Map<string, string>();
async function userOf(c: Context): Promise<string | undefined> {
  const token = /^Bearer +([A-Za-z0-9_\-.]+) *$/i.exec(c.req.header('authorization') ?? '')?.[1];
  if (!token) return undefined;
  const known = verified.get(token);
  if (known) return known;
  try {
    const { payload } = await jwtVerify(token, publicKey, { issuer: 'co-order', algorithms: ['ES256'] });
    if (typeof payload.sub !== 'string') return undefined;
    verified.set(token, payload.sub);
    return payload.sub;
  } catch {
    return undefined;
  }
}

function readBody(c: Context<{ Bindings: HttpBindings }>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    c.env.incoming
      .on('data', (chunk: Buffer) => chunks.push(chunk))
      .on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve(text ? (JSON.parse(text) as unknown) : undefined);
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      })
      .on('error', reject);
  });
}

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : null);

interface OrderRow {
  id: string;
  store_id: string;
  creator_id: string;
  joiner_id: string | null;
  split_type: 'split' | 'separate';
  status: string;
  version: number;
  created_at: Date;
  expires_at: Date;
  matched_at: Date | null;
  accept_by: Date | null;
  accepted_at: Date | null;
  ready_at: Date | null;
  picked_up_at: Date | null;
  completed_at: Date | null;
  cancelled_at: Date | null;
  expired_at: Date | null;
  rejected_at: Date | null;
  menu_total: number;
  joiner_menu_total: number | null;
  delivery_tip: number;
  delivery_address: string;
  delivery_lat: number;
  delivery_lon: number;
  items: { user_id: string; menu_id: string; name: string; quantity: number; unit_price: number }[];
}

function publicFields(o: OrderRow) {
  return {
    id: o.id,
    store_id: o.store_id,
    split_type: o.split_type,
    status: o.status,
    version: o.version,
    created_at: iso(o.created_at),
    expires_at: iso(o.expires_at),
    matched_at: iso(o.matched_at),
    accept_by: iso(o.accept_by),
    accepted_at: iso(o.accepted_at),
    ready_at: iso(o.ready_at),
    picked_up_at: iso(o.picked_up_at),
    completed_at: iso(o.completed_at),
    cancelled_at: iso(o.cancelled_at),
    expired_at: iso(o.expired_at),
    rejected_at: iso(o.rejected_at),
    menu_total: o.menu_total + (o.joiner_menu_total ?? 0),
    delivery_tip: o.delivery_tip,
    shares: shares({ splitType: o.split_type, menuTotal: o.menu_total, joinerMenuTotal: o.joiner_menu_total, deliveryTip: o.delivery_tip }),
  };
}

const participantView = (o: OrderRow) => ({
  view: 'participant' as const,
  ...publicFields(o),
  creator_id: o.creator_id,
  joiner_id: o.joiner_id,
  delivery: { address: o.delivery_address, lat: o.delivery_lat, lon: o.delivery_lon },
  items: o.items,
});

function viewFor(o: OrderRow, viewer: string, distance: number | null) {
  if (o.creator_id === viewer || o.joiner_id === viewer) return participantView(o);
  return {
    view: 'public' as const,
    ...publicFields(o),
    items: o.items.map(({ user_id: _, ...item }) => item),
    distance_m: distance === null ? null : Math.round(distance / 10) * 10,
  };
}

const etagOf = (version: number) => `"v${version}"`;
const isOrder = (row: Row) => 'status' in row && 'version' in row && 'creator_id' in row;

/** The first row so far that `has` recognises (the rows of a statement it looks for). */
type RowWith = (has: (row: Row) => boolean) => Row;

/** The request's state: what it asked, the rows so far, and its named values (each made once). */
function exchangeOf(
  scenario: FloorScenario,
  c: Context,
  route: string,
  userId: string,
  body: unknown,
  results: Row[][],
  made: {
    order: (rowWith: RowWith) => OrderFacts;
    answer: (rowWith: RowWith, x: Exchange) => Answer;
  },
) {
  const rowWith: RowWith = (has) => {
    for (const rows of results) if (rows[0] && has(rows[0])) return rows[0];
    throw new Error(`floor-server ${scenario}: no such row yet`);
  };
  let order: OrderFacts | undefined;
  let answer: Answer | undefined;
  const x: Exchange = {
    method: c.req.method,
    route,
    params: c.req.param() as Record<string, string>,
    header: (name) => c.req.header(name),
    body,
    userId,
    order: () => (order ??= made.order(rowWith)),
    answer: () => (answer ??= made.answer(rowWith, x)),
  };
  const bindings = BINDINGS[scenario];
  const values = new Map<string, string | null>();
  const value = (name: string) => {
    if (!values.has(name)) {
      const binding = bindings[name];
      if (!binding) throw new Error(`floor-server ${scenario}: no value named ${name}`);
      values.set(name, binding(x));
    }
    return values.get(name)!;
  };
  return { x, value };
}

const problem = (c: Context, status: 401 | 404 | 409, detail: string) =>
  c.body(JSON.stringify({ status, detail }), status, { 'Content-Type': 'application/problem+json' });

function answered(c: Context, outcome: Outcome, x: Exchange): Response {
  if (outcome.kind === 'replay') {
    const {
      response_status: status,
      response_body: body,
      response_headers: headers,
    } = outcome.stored as {
      response_status: number;
      response_body: string;
      response_headers: Record<string, string>;
    };
    return new Response(body, { status, headers: { 'Content-Type': 'application/json', ...headers, 'Idempotent-Replayed': 'true' } });
  }
  if (outcome.kind === 'refused') return problem(c, 409, 'refused');
  const a = x.answer();
  return new Response(a.bodyText, {
    status: a.status,
    headers: { 'Content-Type': 'application/json', ETag: a.etag, ...(a.location ? { Location: a.location } : {}) },
  });
}

// ---------------------------------------------------------------- the endpoints

const app = new Hono<{ Bindings: HttpBindings }>();
app.get('/ready', (c) => c.text('ok'));

app.get(ORDER_ROUTE, async (c) => {
  const userId = await userOf(c);
  if (!userId) return problem(c, 401, 'unauthorized');
  const tag = c.req.header('if-none-match');
  const scenario = tag ? 'get-304' : 'get';
  const results: Row[][] = [];
  const { value } = exchangeOf(scenario, c, ORDER_ROUTE, userId, undefined, results, {
    order: () => {
      throw new Error('a read has no order facts');
    },
    answer: () => {
      throw new Error('a read has no stored answer');
    },
  });
  if ((await replay(script[scenario], value, results)).kind !== 'done') return problem(c, 404, 'no such order');
  const order = results.flat().find(isOrder) as (OrderRow & { viewer_distance_m: number | null }) | undefined;
  if (!order) return problem(c, 404, 'no such order');
  const etag = etagOf(order.version);
  if (tag && tag.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*'))
    return c.body(null, 304, { ETag: etag });
  return c.json(viewFor(order, userId, order.viewer_distance_m), 200, { ETag: etag });
});

app.post(JOIN_ROUTE, async (c) => {
  const userId = await userOf(c);
  if (!userId) return problem(c, 401, 'unauthorized');
  const body = await readBody(c);
  const results: Row[][] = [];
  // The order as the compare-and-set returned it: what the charge needs, and the answer.
  let view: ReturnType<typeof participantView> | undefined;
  const viewOf = (rowWith: RowWith) => (view ??= participantView(rowWith(isOrder) as unknown as OrderRow));
  const { x, value } = exchangeOf('join', c, JOIN_ROUTE, userId, body, results, {
    order: viewOf,
    answer: (rowWith) => {
      const order = viewOf(rowWith);
      return { status: 200, etag: etagOf(order.version), bodyText: JSON.stringify(order) };
    },
  });
  return answered(c, await replay(script.join, value, results), x);
});

app.post(CREATE_ROUTE, async (c) => {
  const userId = await userOf(c);
  if (!userId) return problem(c, 401, 'unauthorized');
  const body = (await readBody(c)) as { split_type: 'split' | 'separate'; items: { menu_id: string; quantity: number }[] };
  const results: Row[][] = [];
  const id = uuidv7();
  const { x, value } = exchangeOf('create', c, CREATE_ROUTE, userId, body, results, {
    // Priced from the store and menus the first statement read, before the order exists.
    order: (rowWith) => {
      const { store, menus } = rowWith((row) => 'menus' in row && 'store' in row) as {
        store: { delivery_tip: number };
        menus: { id: string; name: string; price: number }[];
      };
      const items = body.items.map((wanted) => {
        const menu = menus.find((m) => m.id === wanted.menu_id);
        if (!menu) throw new Error(`floor-server create: menu ${wanted.menu_id} not found`);
        return { menu_id: menu.id, name: menu.name, unit_price: menu.price, quantity: wanted.quantity };
      });
      const menuTotal = items.reduce((sum, i) => sum + i.unit_price * i.quantity, 0);
      return {
        id,
        creator_id: userId,
        menu_total: menuTotal,
        delivery_tip: store.delivery_tip,
        items,
        shares: shares({ splitType: body.split_type, menuTotal, joinerMenuTotal: null, deliveryTip: store.delivery_tip }),
      };
    },
    answer: (rowWith, x) => {
      const row = rowWith(isOrder) as unknown as OrderRow;
      const items = x
        .order()
        .items.map((i) => ({ user_id: userId, menu_id: i.menu_id, name: i.name, quantity: i.quantity, unit_price: i.unit_price }));
      const order = participantView({ ...row, items });
      return { status: 201, etag: etagOf(order.version), location: `/orders/${order.id}`, bodyText: JSON.stringify(order) };
    },
  });
  return answered(c, await replay(script.create, value, results), x);
});

app.onError((error, c) => {
  console.error(error);
  return c.body(JSON.stringify({ status: 500, detail: String(error) }), 500, { 'Content-Type': 'application/problem+json' });
});

const port = Number(process.env.PORT ?? 3998);
serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => {
  console.log(JSON.stringify({ msg: 'listening', port: info.port }));
});
process.on('SIGTERM', () => void sql.end({ timeout: 2 }).finally(() => process.exit(0)));
