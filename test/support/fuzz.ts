/**
 * The machinery of the schema-driven fuzz test (test/blackbox/fuzz.test.ts): the committed OpenAPI
 * document read as a list of operations, fast-check arbitraries that turn an operation's
 * parameters and body schema into valid and mutated request plans, raw HTTP over node:http (so
 * that a GET may carry a body, a header may repeat or hold non-ASCII bytes, a body may be chunked
 * or not UTF-8), the checks every answer must pass, and a digest of the database's state.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { Agent, request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import fc from 'fast-check';
import type postgres from 'postgres';

// ---------------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------------

export interface Schema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  default?: unknown;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: Schema;
}

export interface FuzzOperation {
  id: string;
  method: string;
  /** The path template, e.g. /orders/{orderId}/join. */
  path: string;
  params: Parameter[];
  body?: { required: boolean; schema: Schema };
  /** Response keys as documented: "200", "4XX", "default". */
  responses: string[];
  /** The security schemes any of its requirements names (none: public). */
  security: string[];
}

interface Document {
  paths: Record<string, Record<string, unknown>>;
  components?: Record<string, Record<string, unknown>>;
  security?: unknown[];
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

export function readDocument(url: URL): Document {
  return JSON.parse(readFileSync(url, 'utf8')) as Document;
}

function follow(doc: Document, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported: ${ref}`);
  let node: unknown = doc;
  for (const part of ref.slice(2).split('/')) {
    node = (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (node === undefined) throw new Error(`dangling $ref ${ref}`);
  }
  return node;
}

/** The schema with every $ref replaced by what it points to and every allOf merged. */
export function resolveSchema(doc: Document, schema: Schema, depth = 0): Schema {
  if (depth > 40) return {};
  if (schema.$ref) return resolveSchema(doc, follow(doc, schema.$ref) as Schema, depth + 1);
  const out: Schema = { ...schema };
  if (schema.properties) {
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, resolveSchema(doc, v, depth + 1)]));
  }
  if (schema.items) out.items = resolveSchema(doc, schema.items, depth + 1);
  if (typeof schema.additionalProperties === 'object')
    out.additionalProperties = resolveSchema(doc, schema.additionalProperties, depth + 1);
  if (schema.anyOf) out.anyOf = schema.anyOf.map((s) => resolveSchema(doc, s, depth + 1));
  if (schema.oneOf) out.oneOf = schema.oneOf.map((s) => resolveSchema(doc, s, depth + 1));
  if (schema.allOf) {
    delete out.allOf;
    for (const part of schema.allOf.map((s) => resolveSchema(doc, s, depth + 1))) {
      const { properties, required, ...rest } = part;
      Object.assign(out, rest);
      if (properties) out.properties = { ...out.properties, ...properties };
      if (required) out.required = [...new Set([...(out.required ?? []), ...required])];
    }
  }
  return out;
}

/** Every operation of the document: each path × method. */
export function operationsOf(doc: Document): FuzzOperation[] {
  const operations: FuzzOperation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    const shared = ((item.parameters as Schema[] | undefined) ?? []).map((p) => follow$(doc, p));
    for (const method of HTTP_METHODS) {
      const op = item[method] as Record<string, unknown> | undefined;
      if (!op) continue;
      const own = ((op.parameters as Schema[] | undefined) ?? []).map((p) => follow$(doc, p));
      const byKey = new Map<string, Record<string, unknown>>();
      for (const p of [...shared, ...own]) byKey.set(`${p.in}:${p.name}`, p);
      const params: Parameter[] = [...byKey.values()].map((p) => ({
        name: String(p.name),
        in: p.in as Parameter['in'],
        required: p.required === true,
        schema: resolveSchema(doc, (p.schema as Schema | undefined) ?? {}),
      }));
      const requestBody = op.requestBody ? follow$(doc, op.requestBody as Schema) : undefined;
      const content = requestBody?.content as Record<string, { schema?: Schema }> | undefined;
      const json = content && (content['application/json'] ?? Object.values(content)[0]);
      const security = (op.security ?? doc.security ?? []) as unknown[];
      operations.push({
        id: String(op.operationId ?? `${method} ${path}`),
        method: method.toUpperCase(),
        path,
        params,
        body: json ? { required: requestBody?.required === true, schema: resolveSchema(doc, json.schema ?? {}) } : undefined,
        responses: Object.keys((op.responses as Record<string, unknown> | undefined) ?? {}),
        security: [...new Set(security.flatMap((requirement) => Object.keys(requirement as object)))],
      });
    }
  }
  return operations;
}

function follow$(doc: Document, node: Schema): Record<string, unknown> {
  return (node.$ref ? follow(doc, node.$ref) : node) as Record<string, unknown>;
}

/** Whether the operation documents this status (exactly, as a range like 4XX, or by default). */
export function documents(op: FuzzOperation, status: number): boolean {
  return op.responses.some((key) => key === String(status) || key.toUpperCase() === `${String(status)[0]}XX` || key === 'default');
}

export const isMutating = (method: string) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method);

// ---------------------------------------------------------------------------------------------
// JSON with literals JSON.stringify cannot write (1e999, -0, 12345678901234567890123, 0x10)
// ---------------------------------------------------------------------------------------------

/** A piece of JSON text written as is. */
export class RawJson {
  constructor(readonly text: string) {}
  toJSON() {
    return `<raw ${this.text.length > 40 ? `${this.text.slice(0, 40)}…(${this.text.length} chars)` : this.text}>`;
  }
}

export function encodeJson(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : encodeJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}:${encodeJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** An own property even for "__proto__" (plain assignment would set the prototype). */
function withProperty(target: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(target))
    Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true, configurable: true });
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

type Segment = string | number;

/** Paths to every object member and array element inside `value` (not the root). */
function nodePaths(value: unknown, prefix: Segment[] = []): Segment[][] {
  if (value instanceof RawJson || value === null || typeof value !== 'object') return [];
  const entries: [Segment, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...nodePaths(v, [...prefix, k])]);
}

/** Paths to the object nodes inside `value`, the root included. */
function objectPaths(value: unknown, prefix: Segment[] = []): Segment[][] {
  if (value instanceof RawJson || value === null || typeof value !== 'object') return [];
  const here = Array.isArray(value) ? [] : [prefix];
  const entries: [Segment, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return [...here, ...entries.flatMap(([k, v]) => objectPaths(v, [...prefix, k]))];
}

/** Paths to present members the schema requires. */
function requiredPaths(value: unknown, schema: Schema, prefix: Segment[] = []): Segment[][] {
  if (value instanceof RawJson || value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => (schema.items ? requiredPaths(v, schema.items, [...prefix, i]) : []));
  const out: Segment[][] = [];
  for (const [k, v] of Object.entries(value)) {
    if (schema.required?.includes(k)) out.push([...prefix, k]);
    const sub = schema.properties?.[k];
    if (sub) out.push(...requiredPaths(v, sub, [...prefix, k]));
  }
  return out;
}

function update(value: unknown, path: Segment[], change: (old: unknown) => unknown | typeof REMOVE): unknown {
  if (path.length === 0) return change(value);
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    const next = update(copy[head as number], rest, change);
    if (next === REMOVE) copy.splice(head as number, 1);
    else copy[head as number] = next;
    return copy;
  }
  const object = value as Record<string, unknown>;
  const next = update(object[head as string], rest, change);
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(object)) {
    if (k !== head) Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true, configurable: true });
    else if (next !== REMOVE) Object.defineProperty(copy, k, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}
const REMOVE = Symbol('remove');

const showPath = (path: Segment[]) => (path.length ? path.join('.') : '(root)');

// ---------------------------------------------------------------------------------------------
// Request plans
// ---------------------------------------------------------------------------------------------

/** Placeholders in header values, filled in when the request is sent (they depend on live state). */
export const TOKEN = '\u0000token\u0000';
/** The token with one character of its signature changed. */
export const TOKEN_FLIPPED = '\u0000token-flipped\u0000';
/** The resource's current ETag (read just before sending). */
export const ETAG = '\u0000etag\u0000';
/** The Idempotency-Key this actor sent last (a reuse). */
export const LAST_KEY = '\u0000last-key\u0000';

/** A note or header value with its placeholders named, for a message. */
export function readable(text: string): string {
  return text
    .replaceAll(TOKEN_FLIPPED, '<the token, one character changed>')
    .replaceAll(TOKEN, '<the token>')
    .replaceAll(ETAG, '<the current ETag>')
    .replaceAll(LAST_KEY, '<the last Idempotency-Key>');
}

export interface Plan {
  /** 'valid', or the kind of mutation. */
  kind: string;
  /** What was mutated, for the failure message. */
  note: string;
  /** Which signed-up user acts (index). */
  actor: number;
  /** Each path parameter's segment, already percent-encoded. */
  path: Record<string, string>;
  /** The query string's pairs, already encoded. */
  query: string[];
  /** Header lines (a name may repeat); values may hold placeholders. */
  headers: [string, string][];
  body?: string | Uint8Array;
  /** Send the body chunked (no Content-Length). */
  chunked?: boolean;
}

interface Draft extends Plan {
  /** The body as a value (NO_BODY: none), encoded at the end unless `body` is set. */
  value: unknown;
  /** undefined: application/json when there is a body; null: no Content-Type at all. */
  contentType?: string | null;
}
const NO_BODY = Symbol('no body');

export interface FuzzContext {
  /** How many users can act (their indexes are 0..actors-1). */
  actors: number;
  /** Real values for a field or parameter of this name (ids, categories, cursors), when known. */
  hint(op: FuzzOperation, name: string, schema: Schema): fc.Arbitrary<unknown> | undefined;
  /** The Authorization a valid request carries (may hold TOKEN, the actor's bearer token); none for public operations. */
  authorization(op: FuzzOperation): string | undefined;
  /** Real next_cursor values: this operation's, and every list's. */
  cursors(op: FuzzOperation): { own: string[]; all: string[] };
  /** Real ids of every kind (users, orders, stores, menus), to use where another kind is expected. */
  realIds: string[];
}

const HANGUL = [...'전주시덕진구백제대로명륜길치킨피자한식중식분식가나다'];
const textUnit = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCXYZ0123456789') },
  { weight: 2, arbitrary: fc.constantFrom(' ', '-', '.', ',', '#') },
  { weight: 4, arbitrary: fc.constantFrom(...HANGUL) },
  { weight: 1, arbitrary: fc.constantFrom('é', 'ß', '😀', '中') },
);

function intArb(min: number, max: number): fc.Arbitrary<number> {
  if (min >= -0x80000000 && max <= 0x7fffffff) return fc.integer({ min, max });
  return fc.bigInt({ min: BigInt(Math.ceil(min)), max: BigInt(Math.floor(max)) }).map(Number);
}

function primaryType(schema: Schema): string | undefined {
  if (Array.isArray(schema.type)) return schema.type.find((t) => t !== 'null') ?? schema.type[0];
  return schema.type;
}

const isoDate = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());

/** A value the schema accepts, preferring the real values the context knows for `name`. */
export function validValue(op: FuzzOperation, ctx: FuzzContext, schema: Schema, name: string, full = false): fc.Arbitrary<unknown> {
  const hinted = ctx.hint(op, name, schema);
  if (hinted) return hinted;
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants?.length) return fc.oneof(...variants.map((s) => validValue(op, ctx, s, name, full)));
  switch (primaryType(schema)) {
    case 'string': {
      if (schema.format === 'uuid') return fc.uuid();
      if (schema.format === 'email')
        return fc.tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,11}$/), fc.nat(99_999)).map(([u, n]) => `${u}.${n}@example.com`);
      if (schema.format === 'date-time') return isoDate;
      const minLength = schema.minLength ?? 0;
      const maxLength = Math.max(minLength, Math.min(schema.maxLength ?? 40, 40));
      if (schema.pattern) {
        try {
          return fc
            .stringMatching(new RegExp(schema.pattern))
            .filter((s) => s.length >= minLength && s.length <= (schema.maxLength ?? Infinity) && s.trim() === s && s.length > 0);
        } catch {
          // an ECMAScript-incompatible pattern: fall back to plain text
        }
      }
      return fc
        .string({ unit: textUnit, minLength: Math.max(minLength, 1), maxLength })
        .filter((s) => s.trim().length >= Math.max(minLength, 1));
    }
    case 'integer': {
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : -1_000_000);
      const max = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : 1_000_000);
      // Mostly small values (a quantity of 2, not 97; a random number up to 2^53 is never a real id).
      return fc.oneof(
        { weight: 3, arbitrary: intArb(min, Math.min(max, min + 3)) },
        { weight: 2, arbitrary: intArb(min, Math.min(max, min + 100)) },
        { weight: 1, arbitrary: intArb(min, max) },
      );
    }
    case 'number': {
      const min = schema.minimum ?? -1e6;
      const max = schema.maximum ?? 1e6;
      return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    }
    case 'boolean':
      return fc.boolean();
    case 'array': {
      const item = validValue(op, ctx, schema.items ?? {}, name, full);
      const minLength = schema.minItems ?? 0;
      const maxLength = Math.max(minLength, Math.min(schema.maxItems ?? 3, 3));
      return fc.uniqueArray(item, { minLength, maxLength, selector: (v) => (v as { menu_id?: unknown })?.menu_id ?? JSON.stringify(v) });
    }
    case 'object':
    case undefined: {
      if (!schema.properties) return primaryType(schema) === 'object' ? fc.constant({}) : fc.jsonValue({ maxDepth: 2 });
      const model = Object.fromEntries(Object.entries(schema.properties).map(([k, s]) => [k, validValue(op, ctx, s, k, full)]));
      // full: every optional member too (so that a change to every field of a kind reaches them all).
      return fc.record(model, {
        requiredKeys: full ? Object.keys(model) : (schema.required ?? []).filter((k) => k in model),
      }) as fc.Arbitrary<unknown>;
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Odd characters: NUL and other controls, bidi overrides, zero-width ones, a lone surrogate. */
export const ODD_CHARACTERS = [
  '\u0000',
  '\u0001',
  '\u0008',
  '\t',
  '\n',
  '\r',
  '\u001b',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u200b',
  '\u200c',
  '\u200d',
  '\u2060',
  '\ufeff',
  '\u202a',
  '\u202b',
  '\u202d',
  '\u202e',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
  '\u2028',
  '\u2029',
  '\ud800',
  '\udfff',
  '\ufffd',
  '\uffff',
  '\u0301',
  '%',
  '_',
  '\\',
  "'",
  '"',
  '😀',
  '👨‍👩‍👧‍👦',
];
const oddUnit = fc.oneof(fc.constantFrom(...ODD_CHARACTERS), fc.constantFrom('a', 'Z', '0', ' ', '전'));

/** Strings that try a server: empty, blank, huge, controls, number look-alikes, injections. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '   ',
  '\u0000',
  'a\u0000b',
  '\u0000'.repeat(10),
  'x\u202egnp.exe',
  '\u202e\u2066abc\u2069',
  '\u200b',
  '\u200b\u200b\u200b',
  '\ufeffbom',
  '\ud800',
  'a\udc00b',
  'null',
  'true',
  'false',
  'undefined',
  '[]',
  '{}',
  '0',
  '1',
  '-1',
  ' 1',
  '1 ',
  '  1',
  '+1',
  '1e999',
  '-1e999',
  '0x10',
  '1_000',
  '1.5',
  '1e2',
  'NaN',
  'Infinity',
  '-Infinity',
  '9007199254740993',
  '١٢٣',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '2025-02-30T25:61:61Z',
  "'; DROP TABLE users; --",
  "' OR '1'='1",
  '$1',
  '${process.env}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '../../../etc/passwd',
  '%00',
  '%s%s%s%n',
  '\\u0000',
  '\\',
  '"',
  'x'.repeat(301),
  'x'.repeat(10_000),
  '가'.repeat(101),
  '😀'.repeat(200),
  'e\u0301'.repeat(150),
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '6F1C2D3E-4B5A-4C6D-8E7F-9A0B1C2D3E4F',
  '{6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f}',
  '6f1c2d3e4b5a4c6d8e7f9a0b1c2d3e4f',
  'a@b',
  '@example.com',
  'USER@EXAMPLE.COM',
  'a@b@c.com',
];

/** JSON number literals at and past every edge (some are not JSON at all). */
export const NASTY_NUMBER_LITERALS = [
  '1e999',
  '-1e999',
  '1E400',
  '1e-400',
  '-0',
  '0.0',
  '1.0',
  '1e2',
  '1E+2',
  '0.5',
  '-0.5',
  '1.0000000000000001',
  '2147483647',
  '2147483648',
  '-2147483649',
  '4294967296',
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '12345678901234567890123456789',
  '-12345678901234567890',
  '1e308',
  '-1e308',
  '5e-324',
  '0x10',
  '+1',
  '01',
  '.5',
  '5.',
  'NaN',
  'Infinity',
  '-Infinity',
  '1_000',
  '١',
];

/** Deeply nested JSON text (arrays or objects). */
export const deepJson = (depth: number, kind: 'array' | 'object' = 'array') =>
  kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/** A value that violates or stresses whatever schema it replaces. */
export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 4, arbitrary: fc.constantFrom(...NASTY_NUMBER_LITERALS).map((t) => new RawJson(t)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<unknown>(
      null,
      true,
      false,
      0,
      -1,
      1.5,
      -0.000001,
      1e21,
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
      [],
      {},
      [1],
      [null],
      { a: 1 },
      [[[]]],
      ['x'],
      { '': '' },
    ),
  },
  { weight: 2, arbitrary: fc.string({ unit: oddUnit, minLength: 1, maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(50, 1000, 5000).map((d) => new RawJson(deepJson(d, 'array'))) },
  { weight: 1, arbitrary: fc.constantFrom(50, 1000).map((d) => new RawJson(deepJson(d, 'object'))) },
);

/** Query-string values: NaN-like and huge numbers, blanks, controls, malformed percent-encoding. */
const NASTY_QUERY_TEXT = [
  '1e999',
  '0x10',
  '+1',
  '',
  '  1',
  '1 ',
  '1.5',
  '-1',
  '0',
  '-0',
  'NaN',
  'Infinity',
  '-Infinity',
  '9007199254740993',
  '99999999999999999999',
  '1e2',
  '1e-400',
  '١٢',
  '1,2',
  'true',
  'null',
  'undefined',
  '[]',
  '{}',
  '91',
  '-91',
  '181',
  '-181',
  '3001',
  '101',
  '0.0000001',
  '\u0000',
  'a\u0000',
  '\u202e1',
  '\u200b1',
  '1\u200b',
  '\ufeff1',
  'x'.repeat(513),
  'x'.repeat(3000),
  '9'.repeat(400),
  "'",
  '"',
  '\\',
  'created',
  'CREATED',
  'pending ',
  'TRUE',
  'yes',
  '1',
];
/** Raw, deliberately broken percent-encodings, sent as they are. */
const RAW_QUERY_TEXT = [
  '%',
  '%%',
  '%zz',
  '%E0%A4%A',
  '%C0%80',
  '%ED%A0%80',
  '%FF%FE',
  '%00',
  '+',
  '%2B1',
  '1%20',
  '%u0031',
  '%251',
  '1&',
  '=',
];

const queryValue = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...NASTY_QUERY_TEXT).map((v) => encodeURIComponent(safeForUri(v))) },
  { weight: 2, arbitrary: fc.constantFrom(...RAW_QUERY_TEXT) },
  { weight: 2, arbitrary: fc.string({ unit: oddUnit, maxLength: 20 }).map((v) => encodeURIComponent(safeForUri(v))) },
  { weight: 1, arbitrary: fc.double().map((n) => encodeURIComponent(String(n))) },
  { weight: 1, arbitrary: fc.integer().map(String) },
);

/** encodeURIComponent throws on a lone surrogate: those travel as their percent-encoded UTF-8 bytes. */
function safeForUri(text: string): string {
  return text.replace(/[\ud800-\udfff]/g, (c, i: number, s: string) => {
    const code = c.charCodeAt(0);
    const pairedHigh = code < 0xdc00 && /[\udc00-\udfff]/.test(s[i + 1] ?? '');
    const pairedLow = code >= 0xdc00 && /[\ud800-\udbff]/.test(s[i - 1] ?? '');
    return pairedHigh || pairedLow ? c : '\ufffd';
  });
}

/** A path segment: encoded, never empty and never a dot segment (either would be another route). */
export function encodeSegment(value: string): string {
  const encoded = encodeURIComponent(safeForUri(value));
  return encoded === '' || encoded === '.' || encoded === '..' ? `${encoded}x` : encoded;
}

const pathValue = (ctx: FuzzContext, schema: Schema) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...NASTY_STRINGS.filter((s) => s.length <= 3000)).map(encodeSegment) },
    { weight: 3, arbitrary: fc.constantFrom(...NASTY_NUMBER_LITERALS, '0', '-1', '1.5', ' 1', '1e999', '0x10', '+1').map(encodeSegment) },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_QUERY_TEXT.filter((v) => !['+', '1&', '=', '%', '%%'].includes(v))) },
    { weight: 2, arbitrary: fc.string({ unit: oddUnit, minLength: 1, maxLength: 40 }).map(encodeSegment) },
    { weight: 2, arbitrary: ctx.realIds.length ? fc.constantFrom(...ctx.realIds).map(encodeSegment) : fc.uuid() },
    { weight: 1, arbitrary: fc.uuid().map((u) => encodeSegment(u.toUpperCase())) },
    { weight: 1, arbitrary: fc.uuid().map((u) => encodeSegment(`${u}x`)) },
    {
      weight: primaryType(schema) === 'integer' ? 3 : 1,
      arbitrary: fc.oneof(fc.integer(), fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n })).map((n) => encodeSegment(String(n))),
    },
  );

const base64url = (text: string | Uint8Array) => Buffer.from(text).toString('base64url');

/** Forged cursors: random bytes, JSON of the wrong shapes, real cursors with one character changed. */
function forgedCursor(ctx: FuzzContext, op: FuzzOperation): fc.Arbitrary<[string, string]> {
  const { own, all } = ctx.cursors(op);
  const decoded = [...own, ...all].flatMap((c) => {
    try {
      const value: unknown = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? [value as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
  // Sealed cursors do not decode: then the shapes a list's sort key usually has.
  const shapes = decoded.length
    ? decoded
    : [
        { id: 1 },
        { id: '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f' },
        { created_at: '2025-01-01T00:00:00.000Z', id: '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f' },
        { name: '교촌치킨', id: '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f' },
        { distance_m: 12.5, id: '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f' },
        { c: '2025-01-01T00:00:00.000Z', i: 1 },
      ];
  const wrong = fc.constantFrom<unknown>(
    null,
    true,
    'x',
    '',
    0,
    -1,
    1.5,
    1e308,
    -1e308,
    [],
    {},
    [1],
    { a: 1 },
    '0000-01-01T00:00:00Z',
    '0000-01-01T00:00:00.000Z',
    '9999-12-31T23:59:59.999Z',
    '2025-13-45T99:99:99Z',
    'a\u0000b',
    '\u0000',
    'x'.repeat(400),
    '\u202e',
    'NaN',
    '1e999',
    '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f',
    '00000000-0000-0000-0000-000000000000',
    "'; SELECT pg_sleep(20); --",
    new RawJson('9007199254740993'),
    new RawJson('1e999'),
    new RawJson('-0'),
  );
  const oneChar = (c: string, at: number, to: string) => {
    const i = at % c.length;
    const replacement = to === c[i] ? (to === 'A' ? 'B' : 'A') : to;
    return c.slice(0, i) + replacement + c.slice(i + 1);
  };
  const arbs: fc.Arbitrary<[string, string]>[] = [
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => [base64url(b), 'random base64url bytes']),
    fc
      .constantFrom(
        '!!!',
        '====',
        'a b',
        '%00',
        '.',
        '-',
        '_',
        'e30',
        'bnVsbA',
        'W10',
        'MQ',
        'Ig',
        'x'.repeat(512),
        'x'.repeat(513),
        'eyJ'.repeat(300),
      )
      .map((c) => [c, 'not a cursor']),
    fc.jsonValue({ maxDepth: 3 }).map((v) => [base64url(JSON.stringify(v) ?? 'null'), `base64url of JSON ${JSON.stringify(v)}`]),
    fc.tuple(fc.constantFrom(...shapes), fc.nat(), wrong).map(([shape, k, w]) => {
      const keys = Object.keys(shape);
      const key = keys.length ? keys[k % keys.length] : 'id';
      const forged = withProperty(shape, key, w);
      return [base64url(encodeJson(forged)), `real cursor shape with ${key} = ${JSON.stringify(w)}`];
    }),
    fc.tuple(fc.constantFrom(...shapes), fc.nat()).map(([shape, k]) => {
      const keys = Object.keys(shape);
      const forged = { ...shape };
      if (keys.length) delete forged[keys[k % keys.length]];
      return [base64url(JSON.stringify(forged)), `real cursor shape without ${keys[k % keys.length] ?? '(nothing)'}`];
    }),
    fc
      .tuple(fc.constantFrom(...shapes), fc.constantFrom('__proto__', 'constructor', 'extra', ''))
      .map(([shape, key]) => [
        base64url(encodeJson(withProperty(shape, key, { polluted: true }))),
        `real cursor shape with an extra ${JSON.stringify(key)}`,
      ]),
    fc.tuple(fc.constantFrom(...shapes), fc.constantFrom(...NASTY_NUMBER_LITERALS), fc.nat()).map(([shape, literal, k]) => {
      const keys = Object.keys(shape);
      const key = keys.length ? keys[k % keys.length] : 'id';
      return [base64url(encodeJson(withProperty(shape, key, new RawJson(literal)))), `real cursor shape with ${key} = ${literal}`];
    }),
  ];
  if (own.length || all.length) {
    const real = fc.constantFrom(...(own.length ? own : all));
    arbs.push(
      fc
        .tuple(real, fc.nat(), fc.constantFrom(...'AQgw_-09zZ=+/.'))
        .map(([c, at, to]) => [oneChar(c, at, to), `real cursor ${c} with one character changed`]),
      real.map((c) => [c.slice(0, -1), `real cursor ${c} without its last character`]),
      real.map((c) => [`${c}=`, `real cursor ${c} with padding`]),
      real.map((c) => [c + c, `real cursor ${c} twice`]),
      real.map((c) => [Buffer.from(c, 'base64url').toString('base64'), `real cursor ${c} as standard base64`]),
    );
    if (all.length) arbs.push(fc.constantFrom(...all).map((c) => [c, 'a real cursor of any list']));
  }
  return fc.oneof(...arbs);
}

/** Bytes as a header value: node writes header strings as latin1, so this puts these UTF-8 bytes on the wire. */
export const utf8Header = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

const IF_MATCH_VALUES = [
  '"v2147483648"',
  '"v0"',
  'W/"v1"',
  '*',
  'x'.repeat(600),
  `"${'v'.repeat(598)}"`,
  '"v1", "v2"',
  `${ETAG}, "v2147483648"`,
  '"v01"',
  'v1',
  '""',
  '"v-1"',
  '"v1.0"',
  '"v1e3"',
  '"v9999999999"',
  '"v4294967296"',
  '"V1"',
  '*, "v1"',
  ',',
  ' , ',
  '"',
  `W/${ETAG}`,
  `${ETAG}${ETAG}`,
  `"v${'9'.repeat(400)}"`,
  '"v1"'.repeat(100),
  '**',
  '"v1" junk',
  utf8Header('"v١"'),
  utf8Header('"é"'),
  '"v+1"',
  '"v 1"',
  '"v0x10"',
  `"v${Number.MAX_SAFE_INTEGER}"`,
];
const IDEMPOTENCY_KEYS = [
  '',
  ' ',
  'k'.repeat(256),
  'k'.repeat(255),
  'k'.repeat(600),
  utf8Header('키-멱등'),
  utf8Header('clé'),
  'clé',
  'a\tb',
  '"\'\\',
  '%00',
  'null',
  '\u00ff',
  LAST_KEY,
  `${LAST_KEY}x`,
];
const CONTENT_TYPES: (string | null)[] = [
  'text/plain',
  null,
  'application/json;',
  'application/json ; charset=utf-8',
  'application/json;charset',
  'APPLICATION/JSON',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json; charset="utf-8"',
  'application/json;;',
  'application/json; =',
  'application/json; a=b; c',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/merge-patch+json',
  'application/problem+json',
  'application/jsonx',
  'application/json, text/plain',
  'application/vnd.api+json',
  '*/*',
  '',
  ' application/json',
  'application/ json',
  'json',
  'application/json\t',
  'text/json',
  utf8Header('application/json; charset=utf-8; x=한'),
  'application/json; charset=utf-8'.padEnd(600, ' x'),
];
const AUTHORIZATIONS: (string | null)[] = [
  null,
  `bearer ${TOKEN}`,
  `BEARER ${TOKEN}`,
  'Bearer',
  'Bearer ',
  `Bearer  ${TOKEN}`,
  `Bearer ${TOKEN}x`,
  `Bearer ${TOKEN_FLIPPED}`,
  `Bearer ${TOKEN} x`,
  `Bearer ${TOKEN}, Bearer ${TOKEN}`,
  `Token ${TOKEN}`,
  TOKEN,
  'Basic dXNlcjpwYXNz',
  'Bearer x',
  'Bearer a.b.c',
  'Bearer ...',
  `Bearer ${'x'.repeat(600)}`,
  'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDAiLCJpc3MiOiJjby1vcmRlciJ9.',
  `Bearer ${base64url('{"alg":"HS256"}')}.${base64url('{"sub":"\u0000","iss":"co-order","exp":99999999999}')}.${'A'.repeat(43)}`,
  `Bearer ${base64url('{"alg":"HS256"}')}.${base64url('x'.repeat(3000))}.sig`,
  utf8Header('Bearer 토큰'),
  'Bearer null',
  'Bearer undefined',
];

function setHeader(draft: Draft, name: string, value: string | null) {
  draft.headers = draft.headers.filter(([n]) => n.toLowerCase() !== name.toLowerCase());
  if (value !== null) draft.headers.push([name, value]);
}
const hasHeaderParam = (op: FuzzOperation, name: string) =>
  op.params.some((p) => p.in === 'header' && p.name.toLowerCase() === name.toLowerCase());

/** A request every schema of the operation accepts, with real ids where the context has them. */
function validDraft(op: FuzzOperation, ctx: FuzzContext, full = false): fc.Arbitrary<Draft> {
  const pathModel = Object.fromEntries(
    op.params
      .filter((p) => p.in === 'path')
      .map((p) => [p.name, validValue(op, ctx, p.schema, p.name).map((v) => encodeSegment(String(v)))]),
  );
  const queryParams = op.params.filter((p) => p.in === 'query');
  const query = fc.tuple(
    ...queryParams.map((p) => {
      const value = validValue(op, ctx, p.schema, p.name).map((v) => `${encodeURIComponent(p.name)}=${encodeURIComponent(String(v))}`);
      return (p.required ? value : fc.option(value, { nil: undefined, freq: 2 })) as fc.Arbitrary<string | undefined>;
    }),
  );
  const headerParams = op.params.filter((p) => p.in === 'header');
  const headers = fc.tuple(
    ...headerParams.map((p) => {
      const lower = p.name.toLowerCase();
      let value: fc.Arbitrary<string>;
      if (lower === 'if-match') value = fc.constantFrom(ETAG, ETAG, ETAG, '*');
      else if (lower === 'if-none-match') value = fc.constantFrom(ETAG, `W/${ETAG}`, '"v1"', '*', '"v999"');
      else if (lower === 'idempotency-key')
        value = fc.oneof({ weight: 4, arbitrary: fc.uuid() }, { weight: 1, arbitrary: validValue(op, ctx, p.schema, p.name).map(String) });
      else value = validValue(op, ctx, p.schema, p.name).map(String);
      const line = value.map((v): [string, string] => [p.name, v]);
      return (p.required ? line : fc.option(line, { nil: undefined, freq: 2 })) as fc.Arbitrary<[string, string] | undefined>;
    }),
  );
  const body: fc.Arbitrary<unknown> = op.body
    ? op.body.required || full
      ? validValue(op, ctx, op.body.schema, '(body)', full)
      : fc.oneof(fc.constant(NO_BODY), fc.constant({}), validValue(op, ctx, op.body.schema, '(body)'))
    : fc.constant(NO_BODY);
  return fc
    .record({ actor: fc.nat(ctx.actors - 1), path: fc.record(pathModel), query, headers, body })
    .map(({ actor, path, query: q, headers: h, body: b }) => {
      const authorization = ctx.authorization(op);
      return {
        kind: 'valid',
        note: 'valid by the schemas',
        actor,
        path: path as Record<string, string>,
        query: q.filter((x): x is string => x !== undefined),
        headers: [
          ...(authorization ? [['Authorization', authorization] as [string, string]] : []),
          ...h.filter((x): x is [string, string] => x !== undefined),
        ],
        value: b,
      };
    });
}

type Mutation = fc.Arbitrary<(d: Draft) => void>;

/** Every kind of mutation that applies to the operation, each as a change to a valid draft. */
function mutations(op: FuzzOperation, ctx: FuzzContext): { weight: number; arbitrary: Mutation }[] {
  const out: { weight: number; arbitrary: Mutation }[] = [];
  const add = (weight: number, kind: string, arbitrary: fc.Arbitrary<(d: Draft) => string>) =>
    out.push({
      weight,
      arbitrary: arbitrary.map((change) => (d: Draft) => {
        d.kind = kind;
        d.note = change(d);
      }),
    });

  // Authorization, on every operation (public ones must ignore it).
  add(
    3,
    'authorization',
    fc
      .oneof(
        fc.constantFrom(...AUTHORIZATIONS),
        fc.string({ unit: 'grapheme-ascii', maxLength: 80 }).map((s) => `Bearer ${s}`),
      )
      .map((value) => (d) => {
        setHeader(d, 'Authorization', value);
        return value === null ? 'no Authorization' : `Authorization: ${JSON.stringify(value)}`;
      }),
  );
  add(
    1,
    'authorization',
    fc.constant((d: Draft) => {
      setHeader(d, 'Authorization', null);
      d.headers.push(['Authorization', `Bearer ${TOKEN}`], ['Authorization', 'Bearer x.y.z']);
      return 'two Authorization headers';
    }),
  );
  const oddHeaders = [
    'X-Request-Id',
    'Accept',
    'Accept-Encoding',
    'Accept-Language',
    'Origin',
    'Cookie',
    'Range',
    'If-Match',
    'If-None-Match',
    'Idempotency-Key',
  ].filter((name) => !hasHeaderParam(op, name));
  add(
    1,
    'odd header',
    fc
      .tuple(
        fc.constantFrom(...oddHeaders),
        fc.constantFrom(
          'x'.repeat(600),
          utf8Header('요청-ä'),
          ' ',
          '',
          '*',
          '\t',
          'bytes=0-1',
          '"v1"',
          '"v2147483648"',
          'a,b,c,,,',
          'null',
        ),
      )
      .map(([name, value]) => (d) => {
        setHeader(d, name, value);
        return `${name}: ${JSON.stringify(value)}`;
      }),
  );

  if (hasHeaderParam(op, 'If-Match')) {
    add(
      4,
      'if-match',
      fc
        .oneof(fc.constantFrom<string | null>(...IF_MATCH_VALUES, null), fc.string({ unit: 'grapheme-ascii', maxLength: 60 }))
        .map((value) => (d) => {
          setHeader(d, 'If-Match', value);
          return value === null ? 'no If-Match' : `If-Match: ${JSON.stringify(value)}`;
        }),
    );
    add(
      1,
      'if-match',
      fc.constant((d: Draft) => {
        d.headers.push(['If-Match', '"v2147483648"']);
        return 'If-Match twice (the current tag and "v2147483648")';
      }),
    );
  }
  if (hasHeaderParam(op, 'If-None-Match')) {
    add(
      2,
      'if-none-match',
      fc.oneof(fc.constantFrom(...IF_MATCH_VALUES), fc.string({ unit: 'grapheme-ascii', maxLength: 60 })).map((value) => (d) => {
        setHeader(d, 'If-None-Match', value);
        return `If-None-Match: ${JSON.stringify(value)}`;
      }),
    );
  }
  if (hasHeaderParam(op, 'Idempotency-Key')) {
    add(
      4,
      'idempotency-key',
      fc
        .oneof(
          fc.constantFrom<string | null>(...IDEMPOTENCY_KEYS, null),
          fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 300 }),
        )
        .map((value) => (d) => {
          setHeader(d, 'Idempotency-Key', value);
          return value === null ? 'no Idempotency-Key' : `Idempotency-Key: ${JSON.stringify(value)}`;
        }),
    );
    add(
      1,
      'idempotency-key',
      fc.uuid().map((key) => (d) => {
        d.headers.push(['Idempotency-Key', key]);
        return 'Idempotency-Key twice';
      }),
    );
  }

  const queryParams = op.params.filter((p) => p.in === 'query');
  if (queryParams.length) {
    add(
      5,
      'query',
      fc.tuple(fc.constantFrom(...queryParams), queryValue).map(([p, value]) => (d) => {
        const name = encodeURIComponent(p.name);
        d.query = [...d.query.filter((pair) => !pair.startsWith(`${name}=`)), `${name}=${value}`];
        return `query ${p.name}=${value}`;
      }),
    );
    add(
      1,
      'query',
      fc.tuple(fc.constantFrom(...queryParams), queryValue, queryValue).map(([p, a, b]) => (d) => {
        const name = encodeURIComponent(p.name);
        d.query = [...d.query.filter((pair) => !pair.startsWith(`${name}=`)), `${name}=${a}`, `${name}=${b}`];
        return `query ${p.name} twice`;
      }),
    );
    add(
      1,
      'query',
      fc
        .tuple(fc.constantFrom(...queryParams), fc.constantFrom('[]', '%5B%5D', '[0]', '.x', '%00', '%20', '%2B'))
        .map(([p, suffix]) => (d) => {
          d.query.push(`${encodeURIComponent(p.name)}${suffix}=1`);
          return `query ${p.name}${suffix}=1`;
        }),
    );
  }
  if (queryParams.some((p) => p.name === 'cursor')) {
    add(
      6,
      'cursor',
      forgedCursor(ctx, op).map(([cursor, how]) => (d) => {
        d.query = [...d.query.filter((pair) => !pair.startsWith('cursor=')), `cursor=${encodeURIComponent(cursor)}`];
        return `cursor=${cursor} (${how})`;
      }),
    );
  }
  // Extra query parameters, on every operation.
  add(
    1,
    'query',
    fc
      .constantFrom('foo=bar', '__proto__=1', 'constructor=x', '=', '&&&', 'a[b]=1', `q=${'x'.repeat(3000)}`, '%00=%00')
      .map((pair) => (d) => {
        d.query.push(pair);
        return `extra query ${pair.slice(0, 40)}`;
      }),
  );

  const pathParams = op.params.filter((p) => p.in === 'path');
  if (pathParams.length) {
    add(
      6,
      'path',
      fc.constantFrom(...pathParams).chain((p) =>
        pathValue(ctx, p.schema).map((segment) => (d: Draft) => {
          d.path = { ...d.path, [p.name]: segment };
          return `path ${p.name} = ${segment.length > 60 ? `${segment.slice(0, 60)}…(${segment.length} chars)` : segment}`;
        }),
      ),
    );
  }

  if (op.body) {
    const schema = op.body.schema;
    add(
      6,
      'body field',
      fc.tuple(fc.nat(), nastyValue).map(([n, nasty]) => (d) => {
        const paths = d.value === NO_BODY ? [] : nodePaths(d.value);
        if (!paths.length) {
          d.value = nasty;
          return `body = ${short(nasty)}`;
        }
        const path = paths[n % paths.length];
        d.value = update(d.value, path, () => nasty);
        return `body.${showPath(path)} = ${short(nasty)}`;
      }),
    );
    add(
      3,
      'body missing field',
      fc.nat().map((n) => (d) => {
        if (d.value === NO_BODY) d.value = {};
        const paths = requiredPaths(d.value, schema);
        if (!paths.length) {
          d.value = {};
          return 'body {} (no required field)';
        }
        const path = paths[n % paths.length];
        d.value = update(d.value, path, () => REMOVE);
        return `body without required ${showPath(path)}`;
      }),
    );
    add(
      2,
      'body extra property',
      fc
        .tuple(
          fc.nat(),
          fc.constantFrom(
            'extra',
            '__proto__',
            'constructor',
            'toString',
            '',
            ' amount',
            'AMOUNT',
            'id',
            'user_id',
            'credit',
            'k'.repeat(1000),
            '\u0000',
            '\u202e',
          ),
          nastyValue,
        )
        .map(([n, key, value]) => (d) => {
          if (d.value === NO_BODY) d.value = {};
          const paths = objectPaths(d.value);
          const path = paths.length ? paths[n % paths.length] : [];
          d.value = update(d.value, path, (old) => withProperty((old ?? {}) as Record<string, unknown>, key, value));
          return `body.${showPath(path)} gets an extra ${JSON.stringify(key.length > 20 ? `${key.slice(0, 20)}…` : key)} = ${short(value)}`;
        }),
    );
    add(
      2,
      'body shape',
      fc
        .constantFrom(
          'array of it',
          'empty array',
          'null',
          'string',
          'number',
          'true',
          'deep arrays',
          'deep objects',
          'many keys',
          'nested twice',
        )
        .map((shape) => (d) => {
          const valid = d.value === NO_BODY ? {} : d.value;
          const shapes: Record<string, unknown> = {
            'array of it': [valid],
            'empty array': [],
            null: null,
            string: 'x',
            number: 1,
            true: true,
            'deep arrays': new RawJson(deepJson(20_000)),
            'deep objects': new RawJson(deepJson(5000, 'object')),
            'many keys': Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i])),
            'nested twice': { body: valid, data: valid },
          };
          d.value = shapes[shape];
          return `body is ${shape}`;
        }),
    );
    add(
      3,
      'body text',
      fc.constantFrom(...BAD_BODIES).map(([text, note]) => (d) => {
        d.body = text;
        return `body ${note}`;
      }),
    );
    add(
      1,
      'body too large',
      fc.constantFrom(65_537, 70_000, 300_000).chain((size) =>
        fc.boolean().map((chunked) => (d: Draft) => {
          const text = encodeJson(d.value === NO_BODY ? {} : d.value);
          d.body = text.slice(0, -1) + ' '.repeat(Math.max(0, size - text.length)) + text.slice(-1);
          d.chunked = chunked;
          return `valid body padded to ${size} bytes${chunked ? ', chunked' : ''}`;
        }),
      ),
    );
    add(
      1,
      'body chunked',
      fc.constant((d: Draft) => {
        d.chunked = true;
        return 'valid body, chunked (no Content-Length)';
      }),
    );
    add(
      4,
      'content-type',
      fc.constantFrom(...CONTENT_TYPES).map((type) => (d) => {
        if (d.value === NO_BODY) d.value = {};
        d.contentType = type;
        return type === null ? 'valid body with no Content-Type' : `valid body with Content-Type: ${JSON.stringify(type)}`;
      }),
    );
    add(
      1,
      'content-type',
      fc.constant((d: Draft) => {
        if (d.value === NO_BODY) d.value = {};
        d.contentType = null;
        d.headers.push(['Content-Type', 'application/json'], ['Content-Type', 'text/plain']);
        return 'two Content-Type headers';
      }),
    );
  } else {
    add(
      4,
      'unexpected body',
      fc
        .tuple(
          fc.constantFrom('{}', '{"a":1}', '[]', '{', 'garbage', '\u0000', 'x'.repeat(70_000), '{"amount":1e999}'),
          fc.constantFrom<string | null>('application/json', 'text/plain', null, 'application/json;', 'APPLICATION/JSON'),
        )
        .map(([text, type]) => (d) => {
          d.body = text;
          d.contentType = type;
          return `a body (${short(text)}) with ${type === null ? 'no Content-Type' : `Content-Type: ${type}`} to an operation that takes none`;
        }),
    );
    if (op.method !== 'GET') {
      add(
        1,
        'content-type',
        fc.constantFrom('text/plain', 'application/json;', 'application/json', 'multipart/form-data').map((type) => (d) => {
          d.contentType = type;
          d.headers.push(['Content-Type', type]);
          return `no body but Content-Type: ${type}`;
        }),
      );
    }
  }
  return out;
}

/** Every leaf of `value` that `pick` selects, replaced by `by`. */
function replaceLeaves(value: unknown, pick: (leaf: unknown) => boolean, by: unknown): { value: unknown; count: number } {
  let count = 0;
  let out = value;
  for (const path of nodePaths(value)) {
    let leaf: unknown = value;
    for (const segment of path) leaf = (leaf as Record<string | number, unknown>)[segment];
    if (leaf !== null && typeof leaf === 'object' && !(leaf instanceof RawJson)) continue;
    if (!pick(leaf)) continue;
    out = update(out, path, () => by);
    count++;
  }
  return { value: out, count };
}

/**
 * The cases named in the contract's hardening list, each sent once to every operation it applies
 * to (whatever the seed draws besides; after those, so that what the last ones store stays): odd Content-Types, If-Match, Idempotency-Key and
 * Authorization values, `{`, a body where none is taken, NUL / control / bidi / zero-width / huge
 * strings and edge numbers in every field, NaN-like query numbers and forged cursors.
 */
function namedMutations(op: FuzzOperation, ctx: FuzzContext): { kind: string; change: (d: Draft) => string }[] {
  const out: { kind: string; change: (d: Draft) => string }[] = [];
  const header = (kind: string, name: string, value: string | null) =>
    out.push({ kind, change: (d) => (setHeader(d, name, value), value === null ? `no ${name}` : `${name}: ${JSON.stringify(value)}`) });
  for (const value of [null, `bearer ${TOKEN}`, 'Bearer garbage.token.here', `Bearer ${TOKEN_FLIPPED}`])
    header('authorization', 'Authorization', value);
  if (hasHeaderParam(op, 'If-Match'))
    for (const value of ['"v2147483648"', '"v0"', 'W/"v1"', '*', 'x'.repeat(600), null]) header('if-match', 'If-Match', value);
  if (hasHeaderParam(op, 'If-None-Match'))
    for (const value of ['"v2147483648"', '"v0"', 'W/"v1"', '*', 'x'.repeat(600)]) header('if-none-match', 'If-None-Match', value);
  if (hasHeaderParam(op, 'Idempotency-Key'))
    for (const value of ['', 'k'.repeat(256), utf8Header('키-é'), null]) header('idempotency-key', 'Idempotency-Key', value);
  for (const p of op.params.filter((q) => q.in === 'query' || q.in === 'path')) {
    const numeric = ['integer', 'number'].includes(primaryType(p.schema) ?? '');
    const values = numeric
      ? ['1e999', '0x10', '+1', '', '  1', 'NaN', '-1', '1.5', '1e-200', '-0']
      : ['\u0000', 'x'.repeat(3000), '\u202e\u200b'];
    for (const v of values) {
      out.push({
        kind: p.in,
        change: (d) => {
          if (p.in === 'path') d.path = { ...d.path, [p.name]: encodeSegment(v) };
          else
            d.query = [
              ...d.query.filter((pair) => !pair.startsWith(`${encodeURIComponent(p.name)}=`)),
              `${encodeURIComponent(p.name)}=${encodeURIComponent(v)}`,
            ];
          return `${p.in} ${p.name}=${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…(${v.length} chars)` : v)}`;
        },
      });
    }
  }
  // A parameter the operation does not take, holding a NUL: to be ignored or refused as documented.
  out.push({ kind: 'query', change: (d) => (d.query.push('x=%00'), 'an undeclared query parameter x=%00 (NUL)') });
  if (op.params.some((p) => p.in === 'query' && p.name === 'cursor')) {
    const cursor = (how: string, make: () => string) =>
      out.push({
        kind: 'cursor',
        change: (d) => {
          const c = make();
          d.query = [...d.query.filter((pair) => !pair.startsWith('cursor=')), `cursor=${encodeURIComponent(c)}`];
          return `cursor=${c} (${how})`;
        },
      });
    cursor('random base64url', () => base64url(Uint8Array.from({ length: 48 }, (_, i) => (i * 37 + 11) % 256)));
    cursor('base64url of JSON with wrong types', () => base64url('{"id":"x","created_at":1,"name":[],"distance_m":{}}'));
    cursor('base64url of JSON with 0000-01-01 dates', () =>
      base64url('{"created_at":"0000-01-01T00:00:00Z","id":"00000000-0000-0000-0000-000000000000"}'),
    );
    cursor('base64url of JSON with NUL in strings', () => base64url('{"name":"a\\u0000b","id":"\\u0000"}'));
    const real = ctx.cursors(op).own[0];
    if (real) {
      const i = Math.floor(real.length / 2);
      cursor(`real cursor ${real} with one character changed`, () => real.slice(0, i) + (real[i] === 'A' ? 'B' : 'A') + real.slice(i + 1));
    }
  }
  if (op.body) {
    for (const [type, note] of [
      [null, 'no'],
      ['text/plain', ''],
      ['application/json;', ''],
      ['application/json ; charset=utf-8', ''],
      ['application/json;charset', ''],
      ['APPLICATION/JSON', ''],
    ] as const) {
      out.push({
        kind: 'content-type',
        change: (d) => {
          if (d.value === NO_BODY) d.value = {};
          d.contentType = type;
          return `valid body with ${note ? 'no Content-Type' : `Content-Type: ${JSON.stringify(type)}`}`;
        },
      });
    }
    out.push({ kind: 'body text', change: (d) => ((d.body = '{'), 'body `{`') });
    const everyString = (label: string, by: unknown) =>
      out.push({
        kind: 'body field',
        change: (d) => {
          const { value, count } = replaceLeaves(d.value === NO_BODY ? {} : d.value, (leaf) => typeof leaf === 'string', by);
          d.value = count ? value : { text: by };
          return `every string of the body = ${label}`;
        },
      });
    everyString('"a\\u0000b" (NUL)', 'a\u0000b');
    everyString('"\\u0001\\u001b\\u007f" (controls)', '\u0001\u001b\u007f');
    everyString('"\\u202egnp.exe" (bidi override)', '\u202egnp.exe');
    everyString('"\\u200b" (zero-width)', '\u200b');
    everyString('10000 characters', 'x'.repeat(10_000));
    const everyNumber = (label: string, by: unknown) =>
      out.push({
        kind: 'body field',
        change: (d) => {
          const { value, count } = replaceLeaves(d.value === NO_BODY ? {} : d.value, (leaf) => typeof leaf === 'number', by);
          d.value = count ? value : { number: by };
          return `every number of the body = ${label}`;
        },
      });
    for (const literal of ['1e999', '-1', '0.5', '12345678901234567890123', '1e1']) everyNumber(literal, new RawJson(literal));
    everyNumber('"1" (a string)', '1');
    out.push({ kind: 'body missing field', change: (d) => ((d.value = {}), 'body {} (every required field missing)') });
    out.push({
      kind: 'body extra property',
      change: (d) => (
        (d.value = withProperty((d.value === NO_BODY ? {} : d.value) as Record<string, unknown>, 'extra', 1)),
        'body with an extra property'
      ),
    });
    out.push({
      kind: 'body shape',
      change: (d) => ((d.value = [d.value === NO_BODY ? {} : d.value]), 'body is an array of the valid object'),
    });
    out.push({ kind: 'body shape', change: (d) => ((d.value = new RawJson(deepJson(10_000, 'object'))), 'body is 10000 nested objects') });
    // Inside every range, where floating point is odd: tiny, subnormal, negative zero (coordinates). Last,
    // so that what they store (an address, an order's delivery point) stays for the operations after.
    for (const literal of ['1e-200', '5e-324', '-0']) {
      out.push({
        kind: 'body field',
        change: (d) => {
          const { value, count } = replaceLeaves(
            d.value === NO_BODY ? {} : d.value,
            (leaf) => typeof leaf === 'number' && !Number.isInteger(leaf),
            new RawJson(literal),
          );
          d.value = count ? value : d.value;
          return `every fractional number of the body = ${literal}`;
        },
      });
    }
  } else {
    out.push({
      kind: 'unexpected body',
      change: (d) => ((d.body = '{"a":1}'), (d.contentType = 'application/json'), 'a JSON body to an operation that takes none'),
    });
    out.push({
      kind: 'unexpected body',
      change: (d) => ((d.body = '{'), (d.contentType = 'text/plain'), 'a text/plain `{` to an operation that takes none'),
    });
  }
  return out;
}

/** The named cases for this operation, each a valid request with that one change. */
export function namedPlans(op: FuzzOperation, ctx: FuzzContext): fc.Arbitrary<Plan>[] {
  return namedMutations(op, ctx).map(({ kind, change }) =>
    validDraft(op, ctx, true).map((draft) => {
      const copy: Draft = { ...draft, headers: [...draft.headers], query: [...draft.query], path: { ...draft.path } };
      copy.kind = kind;
      copy.note = change(copy);
      return finish(copy);
    }),
  );
}

const BAD_BODIES: [string | Uint8Array, string][] = [
  ['{', '`{`'],
  ['}', '`}`'],
  ['[', '`[`'],
  ['{"', '`{"`'],
  ['{"amount":}', 'with a missing value'],
  ['{"amount":1,}', 'with a trailing comma'],
  ['{,}', '`{,}`'],
  ['nul', '`nul`'],
  ['undefined', '`undefined`'],
  ["{'amount':1}", 'with single quotes'],
  ['{"amount":1}}', 'with an extra brace'],
  ['{}{}', 'two objects'],
  ['{} x', 'with trailing garbage'],
  ['\ufeff{}', 'with a BOM'],
  ['\u0000', 'a NUL'],
  ['{"a":"\u0000"}', 'with a raw NUL in a string'],
  ['{"a":"\\u0000"}', 'with an escaped NUL in a string'],
  ['{"a":"\\x41"}', 'with an invalid escape'],
  ['"\\ud800"', 'a lone surrogate string'],
  ['', 'empty'],
  ['   ', 'blank'],
  ['null', '`null`'],
  ['true', '`true`'],
  ['1', '`1`'],
  ['"x"', '`"x"`'],
  ['[]', '`[]`'],
  ['{"amount":1,"amount":"x","quantity":1,"quantity":"x"}', 'with duplicate keys'],
  [`{"a":${'['.repeat(30_000)}`, 'with 30000 unclosed arrays'],
  [deepJson(30_000), '30000 nested arrays'],
  [Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'with invalid UTF-8'],
  [Uint8Array.from(Buffer.from('{"amount":1}', 'utf16le')), 'in UTF-16LE'],
  [Uint8Array.from([0xc0, 0x80]), 'an overlong NUL'],
  ['{"__proto__":{"admin":true}}', 'with __proto__'],
  ['{"constructor":{"prototype":{"x":1}}}', 'with constructor.prototype'],
];

function short(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : value instanceof RawJson ? value.text : encodeJson(value);
  return text.length > 80 ? `${text.slice(0, 80)}…(${text.length} chars)` : text;
}

function finish(draft: Draft): Plan {
  const { value, contentType, ...plan } = draft;
  if (plan.body === undefined && value !== NO_BODY) plan.body = encodeJson(value);
  if (plan.body !== undefined && contentType !== null && !plan.headers.some(([n]) => n.toLowerCase() === 'content-type')) {
    plan.headers = [...plan.headers, ['Content-Type', contentType ?? 'application/json']];
  }
  return plan;
}

/** A valid request plan for the operation. */
export function validPlan(op: FuzzOperation, ctx: FuzzContext): fc.Arbitrary<Plan> {
  return validDraft(op, ctx).map(finish);
}

/** A request plan for the operation with one mutation (rarely two) applied to a valid one. */
export function mutatedPlan(op: FuzzOperation, ctx: FuzzContext): fc.Arbitrary<Plan> {
  const all = mutations(op, ctx);
  const one = fc.oneof(...all);
  const maybeAnother = fc.oneof({ weight: 7, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: one });
  return fc.tuple(validDraft(op, ctx), one, maybeAnother).map(([draft, first, second]) => {
    const copy: Draft = { ...draft, headers: [...draft.headers], query: [...draft.query], path: { ...draft.path } };
    first(copy);
    if (second) {
      const { kind, note } = copy;
      second(copy);
      copy.kind = `${kind} + ${copy.kind}`;
      copy.note = `${note}; ${copy.note}`;
    }
    return finish(copy);
  });
}

/** A 32-bit seed for request `index` of an operation, from the run's seed. */
export function seedFor(seed: number, operationId: string, index: number): number {
  let h = seed | 0;
  for (const ch of operationId) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return (Math.imul(h ^ (index + 1), 0x9e3779b1) ^ (index * 0x85ebca6b)) | 0;
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP
// ---------------------------------------------------------------------------------------------

export interface WireRequest {
  method: string;
  /** Path and query, as sent. */
  target: string;
  headers: [string, string][];
  body?: string | Uint8Array;
  chunked?: boolean;
}

export interface WireResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  ms: number;
}

export type Outcome = { ok: true; response: WireResponse } | { ok: false; error: string; ms: number };

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

/** Sends the request as is; never throws: a timeout or a broken connection is an Outcome too. */
export async function send(baseUrl: string, req: WireRequest, timeoutMs: number): Promise<Outcome> {
  const first = await sendOnce(baseUrl, req, timeoutMs);
  // A kept-alive socket the server closed between two requests: Node's advice is to retry once.
  if (!first.ok && first.error.startsWith('reused socket')) return sendOnce(baseUrl, req, timeoutMs);
  return first;
}

function sendOnce(baseUrl: string, req: WireRequest, timeoutMs: number): Promise<Outcome> {
  const url = new URL(baseUrl);
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of req.headers) {
    const key = name.toLowerCase();
    const existing = headers[key];
    headers[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [String(existing)]), value];
  }
  const body = req.body === undefined ? undefined : typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : Buffer.from(req.body);
  if (body && !req.chunked) headers['content-length'] = String(body.length);
  const started = performance.now();
  return new Promise<Outcome>((resolve) => {
    let done = false;
    const finishWith = (outcome: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    let outgoing: ReturnType<typeof httpRequest>;
    try {
      outgoing = httpRequest({ hostname: url.hostname, port: url.port, method: req.method, path: req.target, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        const answer = () =>
          finishWith({
            ok: true,
            response: {
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
              ms: performance.now() - started,
            },
          });
        // An event stream never ends: its answer is its first event, and then it is dropped.
        const streaming = String(res.headers['content-type'] ?? '').startsWith('text/event-stream');
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          if (streaming && Buffer.concat(chunks).includes('\n\n')) {
            answer();
            outgoing.destroy();
          }
        });
        res.on('end', answer);
        res.on('error', (e) => finishWith({ ok: false, error: `response broke: ${e.message}`, ms: performance.now() - started }));
      });
    } catch (e) {
      // Node refused to build the request (a header or path it will not send): the test's bug, not the server's.
      throw new Error(`the fuzz built a request Node cannot send (${(e as Error).message}): ${describeRequest(req)}`);
    }
    const timer = setTimeout(() => {
      finishWith({ ok: false, error: `no answer within ${timeoutMs} ms`, ms: performance.now() - started });
      outgoing.destroy();
    }, timeoutMs);
    outgoing.on('error', (e: NodeJS.ErrnoException) => {
      const reused = outgoing.reusedSocket && e.code === 'ECONNRESET';
      finishWith({ ok: false, error: `${reused ? 'reused socket: ' : ''}${e.code ?? ''} ${e.message}`, ms: performance.now() - started });
    });
    if (body && req.chunked) {
      for (let i = 0; i < body.length; i += 16_384) outgoing.write(body.subarray(i, i + 16_384));
      outgoing.end();
    } else outgoing.end(body);
  });
}

export const headerOf = (res: WireResponse, name: string): string | undefined => {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
};

/** How the request looked, exactly enough to send it again (long bodies shortened in the middle). */
export function describeRequest(req: WireRequest): string {
  const lines = [`${req.method} ${req.target.length > 3000 ? `${req.target.slice(0, 3000)}…(${req.target.length} chars)` : req.target}`];
  for (const [name, value] of req.headers)
    lines.push(`  ${name}: ${JSON.stringify(value.length > 700 ? `${value.slice(0, 700)}…(${value.length} chars)` : value)}`);
  if (req.body !== undefined) {
    const text = typeof req.body === 'string' ? JSON.stringify(req.body) : `bytes ${Buffer.from(req.body).toString('hex')}`;
    const size = typeof req.body === 'string' ? Buffer.byteLength(req.body) : req.body.length;
    lines.push(
      `  body (${size} bytes${req.chunked ? ', chunked' : ''}): ${text.length > 1200 ? `${text.slice(0, 600)} …(${text.length} chars)… ${text.slice(-300)}` : text}`,
    );
  }
  return lines.join('\n');
}

export function describeResponse(res: WireResponse): string {
  const text = res.text.length > 500 ? `${res.text.slice(0, 500)}…(${res.text.length} chars)` : res.text;
  return `${res.status}, Content-Type ${JSON.stringify(headerOf(res, 'content-type') ?? null)}, body ${JSON.stringify(text)}`;
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/** What is wrong with an error answer as the service's RFC 9457 problem+json; empty when nothing. */
export function problemDefects(res: WireResponse): string[] {
  const defects: string[] = [];
  const type = headerOf(res, 'content-type') ?? '';
  if (!/^application\/problem\+json(\s*;|$)/i.test(type))
    defects.push(`Content-Type is ${JSON.stringify(type || null)}, not application/problem+json`);
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    defects.push('body is not JSON');
    return defects;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return [...defects, 'body is not a JSON object'];
  const problem = body as Record<string, unknown>;
  for (const field of ['type', 'title', 'detail', 'instance', 'code', 'request_id']) {
    if (typeof problem[field] !== 'string' || (problem[field] as string).length === 0)
      defects.push(`${field} is ${JSON.stringify(problem[field]) ?? 'missing'}`);
  }
  if (problem.status !== res.status) defects.push(`status is ${JSON.stringify(problem.status) ?? 'missing'}, not ${res.status}`);
  const requestId = headerOf(res, 'x-request-id');
  if (headerOf(res, 'idempotent-replayed') !== 'true' && typeof problem.request_id === 'string' && problem.request_id !== requestId) {
    defects.push(`request_id ${JSON.stringify(problem.request_id)} is not the X-Request-Id ${JSON.stringify(requestId ?? null)}`);
  }
  return defects;
}

/** The problem's code and detail, when the body has them. */
export function problemFields(res: WireResponse): { code?: string; detail?: string } {
  try {
    const { code, detail } = JSON.parse(res.text) as { code?: unknown; detail?: unknown };
    return { code: typeof code === 'string' ? code : undefined, detail: typeof detail === 'string' ? detail : undefined };
  } catch {
    return {};
  }
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/** The tables the migrations create, but idempotency_keys (a refusal may legitimately be stored). */
export function stateTables(migrations: URL): string[] {
  const names = new Set<string>();
  for (const file of readdirSync(migrations)
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    const text = readFileSync(new URL(file, migrations), 'utf8');
    for (const match of text.matchAll(/CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?("?)(\w+)\1/gi)) names.add(match[2]);
  }
  names.delete('idempotency_keys');
  return [...names].sort();
}

export type Digest = Record<string, string>;

/**
 * Every row of every table (whole rows, so every column counts) as one md5 per table with its row
 * count, taken with one statement: users' balances, versions and addresses, the ledger, orders
 * and their items, carts, notifications, stores and menus.
 */
export async function stateDigest(sql: postgres.Sql, tables: string[]): Promise<Digest> {
  const parts = tables.map(
    (t) => `'${t}', (SELECT count(*) || ' rows ' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM "${t}" x)`,
  );
  const [row] = await sql.unsafe<{ digest: Digest }[]>(`SELECT json_build_object(${parts.join(', ')}) AS digest`);
  return row.digest;
}

/** The tables whose rows differ, with their row counts before and after. */
export function digestChanges(before: Digest, after: Digest): string[] {
  const rows = (d: string | undefined) => d?.replace(/ [0-9a-f]{32}$/, '') ?? 'no table';
  return Object.keys({ ...before, ...after })
    .filter((t) => before[t] !== after[t])
    .map((t) => `${t} (${rows(before[t])} → ${rows(after[t])}${rows(before[t]) === rows(after[t]) ? ', rows changed' : ''})`);
}
