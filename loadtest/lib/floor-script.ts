/**
 * What the floor server replays and how its parameters are named — shared by the bench, which
 * captures the service's statements and turns them into a script, and by loadtest/floor-server.ts,
 * which sends that script's statements for each request.
 *
 * A script is, per scenario, the round trips of one request as the service made them, each a list
 * of statements with their SQL text, the types their Parse declared, whether they were prepared,
 * and their parameters: each either a constant (the same text in every request) or a named value
 * of the request. The names are defined once, below (BINDINGS): from an exchange (a request and
 * its answer), each gives the text the parameter carries. The bench applies them to the service's
 * exchanges to recognise its parameters; the floor applies them to its own to fill them in.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../src/idempotency/canonical-json.js';

export const FLOOR_SCENARIOS = ['get', 'get-304', 'join', 'create'] as const;
export type FloorScenario = (typeof FLOOR_SCENARIOS)[number];

/**
 * A constant, a named value, or an array literal made of them (the service's arrays are often of
 * values named one by one: whom a join notifies, for instance).
 */
export type ScriptParam = { text: string | null } | { from: string } | { elements: ScriptParam[] };

export interface ScriptStatement {
  sql: string;
  /** A simple Query message (postgres.js sends a statement without parameters so). */
  simple: boolean;
  /** A named prepared statement (postgres.js's `prepare: true`). */
  named: boolean;
  /** The types its Parse declared (0: inferred by the server). */
  types: number[];
  params: ScriptParam[];
  /** It returned rows for the service: none now means the action was refused (or the order is not there). */
  returnsRows: boolean;
}

/** Per scenario, the round trips of one request: the statements of one are sent together. */
export type FloorScript = Record<FloorScenario, ScriptStatement[][]>;

// The routes as hono names them (the idempotency fingerprint includes the pattern).
export const ORDER_ROUTE = '/orders/:orderId';
export const JOIN_ROUTE = '/orders/:orderId/join';
export const CREATE_ROUTE = '/orders';

/** What the parameters of an action need to know of its order (all of it after the answer). */
export interface OrderFacts {
  id: string;
  creator_id: string;
  menu_total: number;
  delivery_tip: number;
  shares: { creator: number; joiner: number | null };
  items: { menu_id: string; name: string; unit_price: number; quantity: number }[];
}

export interface Answer {
  status: number;
  etag: string;
  location?: string;
  bodyText: string;
}

/** A request and what it was answered; order() and answer() may be asked only once they are known. */
export interface Exchange {
  method: string;
  route: string;
  params: Record<string, string>;
  header(name: string): string | undefined;
  /** The request body as parsed JSON (undefined without one). */
  body: unknown;
  userId: string;
  order(): OrderFacts;
  answer(): Answer;
}

/**
 * A parameter as postgres.js 3.4 sends a JavaScript value: strings as they are, numbers in
 * JavaScript's notation, arrays as quoted array literals, objects as JSON.
 */
export function pgText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) {
    const element = (v: unknown) => {
      const text = pgText(v);
      return text === null ? 'null' : `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    };
    return `{${value.map(element).join(',')}}`;
  }
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The elements of an array literal as pgText writes one (one level, quoted or null), else undefined. */
export function parsePgArray(text: string | null): (string | null)[] | undefined {
  if (text === null || !text.startsWith('{') || !text.endsWith('}')) return undefined;
  const elements: (string | null)[] = [];
  let at = 1;
  if (text === '{}') return elements;
  for (;;) {
    if (text.startsWith('null', at)) {
      elements.push(null);
      at += 4;
    } else if (text[at] === '"') {
      let element = '';
      for (at++; at < text.length && text[at] !== '"'; at++) element += text[at] === '\\' ? text[++at] : text[at];
      if (text[at] !== '"') return undefined;
      elements.push(element);
      at++;
    } else return undefined;
    if (text[at] === '}' && at === text.length - 1) return elements;
    if (text[at] !== ',') return undefined;
    at++;
  }
}

/** A parameter's text from the script and the request's named values. */
export function paramText(p: ScriptParam, value: (name: string) => string | null): string | null {
  if ('text' in p) return p.text;
  if ('from' in p) return value(p.from);
  return pgText(p.elements.map((e) => paramText(e, value)));
}

/** The idempotency fingerprint of an action, as runAction computes it: what identifies "the same request" under one key. */
export function fingerprintOf(x: Exchange): string {
  const request = { method: x.method, route: x.route, params: x.params, body: x.body ?? null, ifMatch: x.header('if-match') ?? null };
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

/** The versions an If-Match of this API's tags names ("v1", "v2"). */
export function ifMatchVersions(header: string | undefined): number[] {
  return (header ?? '')
    .split(',')
    .map((tag) => Number(/"v(\d+)"/.exec(tag)?.[1]))
    .filter((v) => Number.isInteger(v));
}

type Binding = (x: Exchange) => string | null;
type CreateBody = {
  store_id: string;
  split_type: string;
  items: { menu_id: string; quantity: number }[];
  delivery: { address: string; lat: number; lon: number };
};
const createBody = (x: Exchange) => x.body as CreateBody;

const reader: Record<string, Binding> = {
  userId: (x) => x.userId,
  orderId: (x) => x.params.orderId ?? null,
};
const action: Record<string, Binding> = {
  userId: (x) => x.userId,
  key: (x) => x.header('idempotency-key') ?? null,
  fingerprint: fingerprintOf,
  answerStatus: (x) => pgText(x.answer().status),
  answerBody: (x) => x.answer().bodyText,
};

/**
 * The named values of each scenario's parameters. In declaration order: when one parameter's
 * text is the value of two names, the first is taken.
 */
export const BINDINGS: Record<FloorScenario, Record<string, Binding>> = {
  get: reader,
  'get-304': reader,
  join: {
    ...action,
    orderId: (x) => x.params.orderId ?? null,
    versions: (x) => pgText(ifMatchVersions(x.header('if-match'))),
    creatorId: (x) => x.order().creator_id,
    joinerCharge: (x) => pgText(-(x.order().shares.joiner ?? NaN)),
    answerHeaders: (x) => JSON.stringify({ ETag: x.answer().etag }),
  },
  create: {
    ...action,
    storeId: (x) => createBody(x).store_id,
    splitType: (x) => createBody(x).split_type,
    menuIds: (x) => pgText(createBody(x).items.map((i) => i.menu_id)),
    quantities: (x) => pgText(createBody(x).items.map((i) => i.quantity)),
    address: (x) => createBody(x).delivery.address,
    lat: (x) => pgText(createBody(x).delivery.lat),
    lon: (x) => pgText(createBody(x).delivery.lon),
    orderId: (x) => x.order().id,
    menuTotal: (x) => pgText(x.order().menu_total),
    deliveryTip: (x) => pgText(x.order().delivery_tip),
    names: (x) => pgText(x.order().items.map((i) => i.name)),
    prices: (x) => pgText(x.order().items.map((i) => i.unit_price)),
    creatorCharge: (x) => pgText(-x.order().shares.creator),
    answerHeaders: (x) => JSON.stringify({ ETag: x.answer().etag, Location: x.answer().location }),
  },
};
