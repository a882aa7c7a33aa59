/**
 * The committed OpenAPI document against the running server. For every operation in
 * openapi/openapi.json a request that should succeed is sent through the SDK, and its status,
 * headers and body are checked against what the document says (ajv, JSON Schema 2020-12). Every
 * response any SDK call in this file gets is checked the same way by a client middleware, errors
 * included; a few error responses are checked against the Problem schema on purpose.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import type { Middleware } from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoOrderClient, type CoOrderClient, type Schemas } from '../../openapi/client.js';
import { parseEventStream } from '../support/events.js';
import { openOrder } from '../support/orders.js';
import { signInAtProvider, startOidcProvider, type RunningOidcProvider } from '../support/oidc-provider.js';
import { startServer, TEST_METRICS_TOKEN } from '../support/server.js';
import { useDatabase, type WithServer } from '../support/use-server.js';
import { freePort } from '../support/urls.js';
import { JEONJU, expectLedgerBalanced, newKey, signUp, signUpWithRoles } from '../support/world.js';

// ajv-formats is CommonJS (`module.exports = plugin; exports.default = plugin`): TypeScript under
// NodeNext types the default import as the module object, whose `default` is the plugin.
const addFormats = (addFormatsModule as unknown as { default: FormatsPlugin }).default;

// ---------------------------------------------------------------------------------------------
// The document and a validator for it
// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;
interface Operation {
  operationId: string;
  method: string;
  path: string;
  responses: Record<string, { headers?: Record<string, { $ref?: string }>; content?: Record<string, { schema: Json }> }>;
}

const DOCUMENT = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, Omit<Operation, 'method' | 'path'>>>;
  components: { schemas: Record<string, Json>; headers: Record<string, { schema: Json }> };
};
const DOCUMENT_ID = 'urn:co-order:openapi';
const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);

const OPERATIONS: Operation[] = Object.entries(DOCUMENT.paths).flatMap(([path, item]) =>
  Object.entries(item)
    .filter(([method]) => HTTP_METHODS.has(method))
    .map(([method, op]) => ({ ...op, method: method.toUpperCase(), path })),
);
const OPERATION_BY_ROUTE = new Map(OPERATIONS.map((op) => [`${op.method} ${op.path}`, op]));

// Strict ajv: unknown keywords are errors, except OpenAPI's `example` and `discriminator`
// annotations, and the `components` member that holds the schemas (never compiled itself, only
// pointed into). A discriminator only says which `oneOf` branch to look at (ajv cannot read its
// `mapping`): the `oneOf` itself is validated, and each mapping is checked below.
const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
addFormats(ajv);
ajv.addVocabulary(['example', 'discriminator', 'components']);
ajv.addSchema({ $id: DOCUMENT_ID, components: DOCUMENT.components });

const validators = new Map<string, ValidateFunction>();
/** A validator for a schema as it appears in the document (a `$ref` into components, or inline). */
function validatorFor(schema: Json): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = validators.get(key);
  if (!validate) {
    // Resolve the document's local refs ("#/components/...") against the document.
    const rebased = JSON.parse(key.replaceAll('"#/components/', `"${DOCUMENT_ID}#/components/`)) as Json;
    validate = ajv.compile(rebased);
    validators.set(key, validate);
  }
  return validate;
}
const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function expectValid(schema: Json, value: unknown, what: string): void {
  const validate = validatorFor(schema);
  const valid = validate(value);
  expect(
    valid,
    `${what} does not match ${JSON.stringify(schema)}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value, null, 1)}`,
  ).toBe(true);
}

// Headers the document describes; one present on a response must be documented for that response.
const CONTRACT_HEADERS = ['etag', 'location', 'idempotent-replayed', 'retry-after', 'x-request-id'];
// Headers the server sends on every response where they are documented.
const ALWAYS_SENT = ['etag', 'location', 'x-request-id'];

/**
 * Checks one response against the operation it answers: the status is documented, the headers
 * the document names are there (and no undocumented one), each with a valid value, and the body
 * has the documented media type and validates against the documented schema.
 */
function checkResponse(op: Operation, response: Response, bodyText: string): void {
  const what = `${op.operationId} ${response.status}`;
  const documented = op.responses[String(response.status)];
  expect(documented, `${op.operationId}: status ${response.status} is not documented (body: ${bodyText})`).toBeDefined();

  const documentedHeaders = new Map(Object.entries(documented.headers ?? {}).map(([name, header]) => [name.toLowerCase(), header]));
  for (const name of CONTRACT_HEADERS) {
    const value = response.headers.get(name);
    if (value === null) {
      expect(ALWAYS_SENT.includes(name) && documentedHeaders.has(name), `${what}: header ${name} is documented but missing`).toBe(false);
      continue;
    }
    const header = documentedHeaders.get(name);
    expect(header, `${what}: sends ${name}: ${value}, which the document does not list for this response`).toBeDefined();
    const component = DOCUMENT.components.headers[header!.$ref!.split('/').pop()!];
    const schema = component.schema;
    expectValid(schema, schema.type === 'integer' ? Number(value) : value, `${what} header ${name}`);
  }

  const mediaType = (response.headers.get('content-type') ?? '').split(';')[0].trim();
  if (!documented.content) {
    expect(bodyText, `${what}: the document says no body`).toBe('');
    return;
  }
  const media = documented.content[mediaType];
  expect(media, `${what}: Content-Type ${mediaType} is not documented (${Object.keys(documented.content).join(', ')})`).toBeDefined();
  if (mediaType === 'text/event-stream') {
    // The schema is that of each event the stream carries.
    const events = parseEventStream(bodyText);
    expect(events.length, `${what}: no event in the stream`).toBeGreaterThan(0);
    for (const event of events) expectValid(media.schema, event, `${what} event ${event.event}`);
    return;
  }
  const body = mediaType.endsWith('json') ? JSON.parse(bodyText) : bodyText;
  expectValid(media.schema, body, `${what} body`);
}

// ---------------------------------------------------------------------------------------------
// A recording SDK: every response is checked against the document as it arrives
// ---------------------------------------------------------------------------------------------

/** operationId → how many responses to it were checked against the document. */
const checked = new Map<string, number>();

const conformance: Middleware = {
  async onResponse({ request, response, schemaPath }) {
    const op = OPERATION_BY_ROUTE.get(`${request.method} ${schemaPath}`);
    if (!op) throw new Error(`the SDK called ${request.method} ${schemaPath}, which the document does not have`);
    checkResponse(op, response, await response.clone().text());
    checked.set(op.operationId, (checked.get(op.operationId) ?? 0) + 1);
    return undefined;
  },
};

function sdk(token?: string, init: { redirect?: 'follow' | 'manual' } = {}): CoOrderClient {
  const client = createCoOrderClient(app.server.baseUrl, token, init);
  client.use(conformance);
  return client;
}

interface Actor {
  client: CoOrderClient;
  token: string;
  user: Schemas['User'];
}
async function newUser(name: string): Promise<Actor> {
  const { token, user } = await signUp(app.server.baseUrl, name);
  return { client: sdk(token), token, user };
}
async function newUserWithRoles(name: string, roles: { staff_of?: string[]; rider?: boolean }): Promise<Actor> {
  const { token, user } = await signUpWithRoles(app.server.baseUrl, name, roles);
  return { client: sdk(token), token, user };
}

// ---------------------------------------------------------------------------------------------
// Test state
// ---------------------------------------------------------------------------------------------

// The server has an identity provider to sign in with: a real OpenID Provider on loopback.
const OIDC = { client_id: 'contract-client', client_secret: randomUUID() };
const app = useDatabase() as WithServer;
let provider: RunningOidcProvider;
beforeAll(async () => {
  const port = await freePort();
  const redirectUri = `http://127.0.0.1:${port}/auth/oidc/test/callback`;
  provider = await startOidcProvider({ client: { ...OIDC, redirect_uris: [redirectUri] } });
  app.server = await startServer(app.db.url, {
    PORT: String(port),
    OIDC_PROVIDERS: 'test',
    OIDC_TEST_ISSUER: provider.issuer,
    OIDC_TEST_CLIENT_ID: OIDC.client_id,
    OIDC_TEST_CLIENT_SECRET: OIDC.client_secret,
    OIDC_TEST_REDIRECT_URI: redirectUri,
  });
});
afterAll(async () => {
  await app.server?.stop();
  await provider?.stop();
});
let store: Schemas['Store'];
let menu: Schemas['Menu'];

beforeAll(async () => {
  const { client } = await newUser('Setup');
  const stores = await client.GET('/stores', { params: { query: { category: '치킨', limit: 100 } } });
  store = stores.data!.items.find((s) => s.name === '교촌치킨 전북대점')!;
  expect(store, 'the demo store is seeded').toBeDefined();
  const menus = await client.GET('/stores/{storeId}/menus', { params: { path: { storeId: store.id } } });
  // The dearest menu: one alone reaches the store's minimum, as a `split` order needs.
  menu = menus.data!.items.at(-1)!;
  expect(menu.price).toBeGreaterThanOrEqual(store.min_order_price);
});

const DELIVERY = { address: '전북 전주시 덕진구 백제대로 567', ...JEONJU };

/** A split order of the dearest menu, delivered near the demo stores: enough on its own. */
const splitOrder = (): Schemas['CreateOrderInput'] => ({
  store_id: store.id,
  split_type: 'split',
  items: [{ menu_id: menu.id, quantity: 1 }],
  delivery: DELIVERY,
});

async function matchedOrder() {
  const creator = await newUser('Creator');
  const joiner = await newUser('Joiner');
  const { order, etag } = await openOrder(creator, splitOrder());
  const joined = await joiner.client.POST('/orders/{orderId}/join', {
    params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
    body: {},
  });
  expect(joined.response.status, JSON.stringify(joined.error)).toBe(200);
  return { creator, joiner, order: joined.data!, etag: joined.response.headers.get('etag')! };
}

// ---------------------------------------------------------------------------------------------
// One request that should succeed, per operation
// ---------------------------------------------------------------------------------------------

/**
 * An event stream, which never ends by itself: opened, `change` made, read until an order event
 * has arrived, then dropped; what was read is checked against the document like any answer.
 */
async function readStream(operationId: string, path: string, token: string, change: () => Promise<unknown>): Sent {
  const abort = new AbortController();
  const response = await fetch(`${app.server.baseUrl}${path}`, { headers: { Authorization: `Bearer ${token}` }, signal: abort.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  const readUntil = async (enough: RegExp) => {
    while (!enough.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${path}: the stream ended early: ${text}`);
      text += value;
    }
  };
  await readUntil(/event: stream\.opened[^]*\n\n/);
  await change();
  await readUntil(/event: order\.[^]*\n\n$/);
  abort.abort();
  checkResponse(
    OPERATIONS.find((o) => o.operationId === operationId)!,
    response,
    text,
  );
  checked.set(operationId, (checked.get(operationId) ?? 0) + 1);
  return { response };
}

type Sent = Promise<{ response: Response }>;

// The store's staff and a rider, made once: the store's and the rider's operations need them.
let staffOnce: Promise<Actor> | undefined;
let riderOnce: Promise<Actor> | undefined;
const staffUser = () => (staffOnce ??= newUserWithRoles('Staff', { staff_of: [store.id] }));
const riderUser = () => (riderOnce ??= newUserWithRoles('Rider', { rider: true }));

/** A matched order taken through the store's and the rider's steps up to `last`: that step's answer. */
async function walkTo(last: 'ready' | 'pick-up' | 'deliver'): Sent {
  let { order, etag } = await matchedOrder();
  const staff = await staffUser();
  const rider = await riderUser();
  const steps = [
    [staff, 'accept'],
    [staff, 'ready'],
    [rider, 'pick-up'],
    [rider, 'deliver'],
  ] as const;
  for (const [user, action] of steps) {
    const result = await user.client.POST(`/orders/{orderId}/${action}`, {
      params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
    });
    if (action === last) return result;
    expect(result.response.status).toBe(200);
    etag = result.response.headers.get('etag')!;
    order = { ...order, version: result.data!.version };
  }
  throw new Error(`no step ${last}`);
}

const SUCCESSFUL_REQUEST: Record<string, () => Sent> = {
  getHealth: async () => sdk().GET('/health'),
  getReady: async () => sdk().GET('/ready'),
  getMetrics: async () => sdk(TEST_METRICS_TOKEN).GET('/metrics', { parseAs: 'text' }),
  createDevToken: async () => sdk().POST('/auth/dev/token', { body: { email: `contract-${randomUUID()}@example.com`, name: 'Contract' } }),
  startOidcLogin: async () =>
    sdk(undefined, { redirect: 'manual' }).GET('/auth/oidc/{provider}/authorize', { params: { path: { provider: 'test' } } }),
  finishOidcLogin: async () => {
    const started = await sdk(undefined, { redirect: 'manual' }).GET('/auth/oidc/{provider}/authorize', {
      params: { path: { provider: 'test' } },
    });
    const sub = `contract-${randomUUID()}`;
    provider.setAccount(sub, { email: `${sub}@example.com`, email_verified: true, name: 'Contract' });
    const callback = new URL(await signInAtProvider(started.response.headers.get('location')!, sub));
    const query = Object.fromEntries(callback.searchParams) as { state: string; code: string };
    return sdk().GET('/auth/oidc/{provider}/callback', { params: { path: { provider: 'test' }, query } });
  },
  exchangeIdToken: async () => {
    const idToken = await provider.signIdToken({
      sub: `contract-${randomUUID()}`,
      email: `${randomUUID()}@example.com`,
      email_verified: true,
    });
    return sdk().POST('/auth/oidc/{provider}/token', { params: { path: { provider: 'test' } }, body: { id_token: idToken } });
  },
  refreshSession: async () => {
    const session = await sdk().POST('/auth/dev/token', { body: { email: `refresh-${randomUUID()}@example.com`, name: 'Refresh' } });
    return sdk().POST('/auth/refresh', { body: { refresh_token: session.data!.refresh_token } });
  },
  logout: async () => {
    const { token } = await signUp(app.server.baseUrl, 'Logout');
    return sdk(token).POST('/auth/logout', { body: { all: true } });
  },
  getJwks: async () => sdk().GET('/.well-known/jwks.json'),

  getMe: async () => (await newUser('Me')).client.GET('/users/me'),
  putMyAddress: async () => {
    const { client } = await newUser('Address');
    const me = await client.GET('/users/me');
    return client.PUT('/users/me/address', {
      params: { header: { 'If-Match': me.response.headers.get('etag')! } },
      body: DELIVERY,
    });
  },
  topUpCredit: async () =>
    (await newUser('TopUp')).client.POST('/users/me/credit/top-ups', {
      params: { header: { 'Idempotency-Key': newKey() } },
      body: { amount: 20_000 },
    }),
  listMyTopUps: async () => (await newUser('TopUps')).client.GET('/users/me/credit/top-ups'),
  getTopUp: async () => {
    const { client } = await newUser('TopUp');
    const made = await client.POST('/users/me/credit/top-ups', {
      params: { header: { 'Idempotency-Key': newKey() } },
      body: { amount: 1_000 },
    });
    return client.GET('/users/me/credit/top-ups/{topUpId}', { params: { path: { topUpId: made.data!.id } } });
  },
  // Without a payment provider (this server) a top-up succeeds at once: its confirm answers so.
  confirmTopUp: async () => {
    const { client } = await newUser('Confirm');
    const made = await client.POST('/users/me/credit/top-ups', {
      params: { header: { 'Idempotency-Key': newKey() } },
      body: { amount: 1_000 },
    });
    return client.POST('/users/me/credit/top-ups/{topUpId}/confirm', {
      params: { path: { topUpId: made.data!.id }, header: { 'Idempotency-Key': newKey() } },
      body: { payment_key: 'pay_demo' },
    });
  },
  listMyLedger: async () => (await newUser('Ledger')).client.GET('/users/me/ledger'),

  listCategories: async () => (await newUser('Categories')).client.GET('/categories'),
  listStores: async () => (await newUser('Stores')).client.GET('/stores', { params: { query: { limit: 5 } } }),
  getStore: async () => (await newUser('Store')).client.GET('/stores/{storeId}', { params: { path: { storeId: store.id } } }),
  listStoreMenus: async () => (await newUser('Menus')).client.GET('/stores/{storeId}/menus', { params: { path: { storeId: store.id } } }),

  getCart: async () => {
    const { client } = await newUser('Cart');
    await client.PUT('/cart/items/{menuId}', { params: { path: { menuId: menu.id } }, body: { quantity: 2 } });
    return client.GET('/cart');
  },
  putCartItem: async () =>
    (await newUser('CartPut')).client.PUT('/cart/items/{menuId}', { params: { path: { menuId: menu.id } }, body: { quantity: 1 } }),
  deleteCartItem: async () => {
    const { client } = await newUser('CartDelete');
    await client.PUT('/cart/items/{menuId}', { params: { path: { menuId: menu.id } }, body: { quantity: 1 } });
    return client.DELETE('/cart/items/{menuId}', { params: { path: { menuId: menu.id } } });
  },
  clearCart: async () => {
    const { client } = await newUser('CartClear');
    await client.PUT('/cart/items/{menuId}', { params: { path: { menuId: menu.id } }, body: { quantity: 1 } });
    return client.DELETE('/cart');
  },

  createOrder: async () =>
    (await newUser('Create')).client.POST('/orders', {
      params: { header: { 'Idempotency-Key': newKey() } },
      body: splitOrder(),
    }),
  getOrder: async () => {
    const creator = await newUser('Get');
    const { order } = await openOrder(creator, splitOrder());
    return creator.client.GET('/orders/{orderId}', { params: { path: { orderId: order.id } } });
  },
  listNearbyOrders: async () => {
    await openOrder(await newUser('Nearby'), splitOrder());
    const looking = await newUser('Looking');
    const nearby = await looking.client.GET('/orders', { params: { query: { ...JEONJU, radius_m: 300 } } });
    expect(nearby.data!.items.length, 'an order to validate').toBeGreaterThan(0);
    expect(nearby.data!.included.stores.length).toBeGreaterThan(0);
    return nearby;
  },
  listMyOrders: async () => {
    const creator = await newUser('Mine');
    await openOrder(creator, splitOrder());
    const mine = await creator.client.GET('/users/me/orders', { params: { query: { role: 'created' } } });
    expect(mine.data!.items).toHaveLength(1);
    return mine;
  },
  joinOrder: async () => {
    const { order, etag } = await openOrder(await newUser('ToJoin'), splitOrder());
    return (await newUser('Joining')).client.POST('/orders/{orderId}/join', {
      params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
    });
  },
  cancelOrder: async () => {
    const creator = await newUser('Cancel');
    const { order, etag } = await openOrder(creator, splitOrder());
    return creator.client.POST('/orders/{orderId}/cancel', {
      params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
    });
  },
  expireOrder: async () => {
    const { order, etag } = await openOrder(await newUser('Expire'), splitOrder());
    // Time passes: only the clock can make an order overdue, so the test moves its deadline.
    await app.db.sql`UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = ${order.id}`;
    return (await newUser('Sweeper')).client.POST('/orders/{orderId}/expire', {
      params: { path: { orderId: order.id }, header: { 'If-Match': etag } },
    });
  },
  acceptOrder: async () => {
    const { order, etag } = await matchedOrder();
    return (await staffUser()).client.POST('/orders/{orderId}/accept', {
      params: { path: { orderId: order.id }, header: { 'If-Match': etag } },
    });
  },
  rejectOrder: async () => {
    const { order, etag } = await matchedOrder();
    return (await staffUser()).client.POST('/orders/{orderId}/reject', {
      params: { path: { orderId: order.id }, header: { 'If-Match': etag, 'Idempotency-Key': newKey() } },
    });
  },
  readyOrder: async () => walkTo('ready'),
  pickUpOrder: async () => walkTo('pick-up'),
  deliverOrder: async () => walkTo('deliver'),
  listStoreOrders: async () =>
    (await staffUser()).client.GET('/stores/{storeId}/orders', { params: { path: { storeId: store.id }, query: {} } }),
  listStoreLedger: async () =>
    (await staffUser()).client.GET('/stores/{storeId}/ledger', { params: { path: { storeId: store.id }, query: {} } }),
  listDeliveries: async () => (await riderUser()).client.GET('/deliveries', { params: { query: { lat: 35.8468, lon: 127.1297 } } }),
  listMyDeliveries: async () => (await riderUser()).client.GET('/users/me/deliveries', { params: { query: {} } }),

  streamMyEvents: async () => {
    const creator = await newUser('Listener');
    return readStream('streamMyEvents', '/users/me/events', creator.token, () => openOrder(creator, splitOrder()));
  },
  streamStoreEvents: async () => {
    const staff = await staffUser();
    return readStream('streamStoreEvents', `/stores/${store.id}/events`, staff.token, () => matchedOrder());
  },
  createEventTicket: async () => (await newUser('Browser')).client.POST('/users/me/events/tickets'),
  listMyNotifications: async () => {
    const { creator } = await matchedOrder();
    const list = await creator.client.GET('/users/me/notifications');
    expect(list.data!.items.map((n) => n.kind)).toContain('order_matched');
    return list;
  },
  markNotificationRead: async () => {
    const { creator } = await matchedOrder();
    const list = await creator.client.GET('/users/me/notifications', { params: { query: { unread: 'true' } } });
    const notificationId = list.data!.items[0].id;
    return creator.client.POST('/users/me/notifications/{notificationId}/read', { params: { path: { notificationId } } });
  },
};

describe('the committed OpenAPI document', () => {
  it('lists exactly the operations this file exercises', () => {
    expect(OPERATIONS.length).toBeGreaterThan(0);
    expect(Object.keys(SUCCESSFUL_REQUEST).sort()).toEqual(OPERATIONS.map((op) => op.operationId).sort());
  });

  it('is what the running server serves at /openapi.json', async () => {
    const served = await fetch(`${app.server.baseUrl}/openapi.json`);
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual(DOCUMENT);
  });

  it('has no anonymous object or enum schema twice (shared shapes are named components)', () => {
    const seen = new Map<string, string[]>();
    const strip = (node: unknown) =>
      JSON.stringify(node, (key, value: unknown) => (['description', 'example'].includes(key) ? undefined : value));
    const walk = (node: unknown, pointer: string): void => {
      if (!node || typeof node !== 'object') return;
      const n = node as Json;
      const isComponent = /^\/components\/schemas\/[^/]+$/.test(pointer);
      if (!isComponent && ((n.type === 'object' && n.properties) || n.enum)) {
        const key = strip(n);
        seen.set(key, [...(seen.get(key) ?? []), pointer]);
      }
      for (const [key, child] of Object.entries(n)) walk(child, `${pointer}/${key}`);
    };
    walk(DOCUMENT, '');
    expect([...seen.values()].filter((pointers) => pointers.length > 1)).toEqual([]);
  });

  it('maps each discriminator value to a oneOf branch whose property is exactly that value', () => {
    const found: string[] = [];
    const walk = (node: unknown, pointer: string): void => {
      if (!node || typeof node !== 'object') return;
      const n = node as Json & { oneOf?: { $ref: string }[]; discriminator?: { propertyName: string; mapping: Record<string, string> } };
      if (n.discriminator) {
        const { propertyName, mapping } = n.discriminator;
        expect(Object.values(mapping).sort(), pointer).toEqual(n.oneOf!.map((branch) => branch.$ref).sort());
        for (const [value, ref] of Object.entries(mapping)) {
          const target = DOCUMENT.components.schemas[ref.replace('#/components/schemas/', '')] as { properties: Json; required: string[] };
          expect(target.properties[propertyName], `${pointer}: ${ref}`).toMatchObject({ type: 'string', enum: [value] });
          expect(target.required, `${pointer}: ${ref}`).toContain(propertyName);
        }
        found.push(pointer);
      }
      for (const [key, child] of Object.entries(n)) walk(child, `${pointer}/${key}`);
    };
    walk(DOCUMENT, '');
    // The caller's view of an order (GET /orders/{orderId}, POST /orders/{orderId}/expire).
    expect(found).toEqual(['/components/schemas/OrderView']);
  });
});

describe.each(OPERATIONS.map((op) => [op.operationId, op] as const))('%s', (operationId, op) => {
  it(`answers a valid request with its documented success, headers and body (${op.method} ${op.path})`, async () => {
    // A 2xx, or the 302 of a redirect to an identity provider. Not a 202: a top-up's confirm answers
    // that only while the payment provider's answer is not known (test/blackbox/top-ups.test.ts).
    const successes = Object.keys(op.responses).filter((status) => /^(2\d\d|302)$/.test(status) && status !== '202');
    expect(successes, 'exactly one documented success status').toHaveLength(1);
    const send = SUCCESSFUL_REQUEST[operationId];
    expect(send, `no request builder for ${operationId}`).toBeDefined();
    const before = checked.get(operationId) ?? 0;
    const { response } = await send();
    expect(response.status).toBe(Number(successes[0]));
    // The middleware matched the response to this operation and validated it.
    expect(checked.get(operationId)).toBeGreaterThan(before);
  });
});

// ---------------------------------------------------------------------------------------------
// Error responses against the Problem schema
// ---------------------------------------------------------------------------------------------

/** For requests the SDK cannot express: checked against the document all the same. */
async function raw(operationId: string, path: string, init: RequestInit = {}) {
  const op = OPERATIONS.find((o) => o.operationId === operationId)!;
  const response = await fetch(`${app.server.baseUrl}${path}`, { method: op.method, ...init });
  const text = await response.text();
  checkResponse(op, response, text);
  return { response, body: text ? (JSON.parse(text) as Schemas['Problem']) : undefined };
}

function expectProblemShape(response: Response, body: unknown, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expectValid(schemaRef('Problem'), body, `${status} problem`);
  const problem = body as Schemas['Problem'];
  expect(problem.code).toBe(code);
  expect(problem.status).toBe(status);
  // A replay is the stored body, so it names the original request; any other names this one.
  if (response.headers.get('idempotent-replayed') !== 'true') expect(problem.request_id).toBe(response.headers.get('x-request-id'));
  return problem;
}

describe('error responses are the documented Problem', () => {
  it('404 for an unknown order', async () => {
    const { client } = await newUser('NotFound');
    const { response, error } = await client.GET('/orders/{orderId}', { params: { path: { orderId: randomUUID() } } });
    expectProblemShape(response, error, 404, 'not_found');
  });

  it('400 with errors[] for a body that violates the schema', async () => {
    const { client } = await newUser('Invalid');
    const { response, error } = await client.POST('/orders', {
      params: { header: { 'Idempotency-Key': newKey() } },
      body: { store_id: 'not-a-uuid', split_type: 'split', items: [{ menu_id: menu.id, quantity: 0 }] },
    });
    const problem = expectProblemShape(response, error, 400, 'validation_failed');
    expect(problem.errors?.map((e) => e.path).sort()).toEqual(['body.items.0.quantity', 'body.store_id']);
  });

  it('400 for malformed JSON (raw request: the SDK cannot send it)', async () => {
    const { token } = await signUp(app.server.baseUrl, 'Malformed');
    const { response, body } = await raw('createOrder', '/orders', {
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Idempotency-Key': newKey() },
      body: '{"store_id": ',
    });
    expectProblemShape(response, body, 400, 'malformed_json');
  });

  it('401 without a bearer token', async () => {
    const { response, error } = await sdk().GET('/users/me');
    expectProblemShape(response, error, 401, 'unauthorized');
  });

  it('412 with the current order as the caller may see it (a valid PublicOrder: a would-be joiner takes no part) and its ETag for a stale If-Match', async () => {
    const creator = await newUser('Stale');
    const { order, etag } = await openOrder(creator, splitOrder());
    const joiner = await newUser('StaleJoiner');
    const stale = etag.replace(/\d+/, (v) => String(Number(v) + 7));
    const { response, error } = await joiner.client.POST('/orders/{orderId}/join', {
      params: { path: { orderId: order.id }, header: { 'If-Match': stale, 'Idempotency-Key': newKey() } },
    });
    const problem = expectProblemShape(response, error, 412, 'precondition_failed');
    expect(response.headers.get('etag')).toBe(etag);
    expectValid(schemaRef('PublicOrder'), problem.current, '412 current');
    expect(problem.current).toMatchObject({ id: order.id, version: order.version, status: 'pending' });
    await expectLedgerBalanced(app.db.sql);
  });

  it('428 when an action has no If-Match', async () => {
    const creator = await newUser('NoIfMatch');
    const { order } = await openOrder(creator, splitOrder());
    const { token } = await signUp(app.server.baseUrl, 'NoIfMatchJoiner');
    const { response, body } = await raw('joinOrder', `/orders/${order.id}/join`, {
      headers: { Authorization: `Bearer ${token}`, 'Idempotency-Key': newKey() },
    });
    expectProblemShape(response, body, 428, 'precondition_required');
  });

  it('402, replayed under the same Idempotency-Key with Idempotent-Replayed', async () => {
    const creator = await newUser('Poor');
    const key = newKey();
    const body = {
      store_id: store.id,
      split_type: 'split' as const,
      items: [{ menu_id: menu.id, quantity: 9 }],
      delivery: DELIVERY,
    };
    const first = await creator.client.POST('/orders', { params: { header: { 'Idempotency-Key': key } }, body });
    expectProblemShape(first.response, first.error, 402, 'insufficient_credit');
    const again = await creator.client.POST('/orders', { params: { header: { 'Idempotency-Key': key } }, body });
    const replayed = expectProblemShape(again.response, again.error, 402, 'insufficient_credit');
    expect(again.response.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed).toEqual(first.error);
    expect(again.response.headers.get('x-request-id')).not.toBe(first.response.headers.get('x-request-id'));
  });
});

describe('conditional GET', () => {
  it('304 with no body and the ETag, for getOrder and getMe', async () => {
    const creator = await newUser('Poll');
    const { order, etag } = await openOrder(creator, splitOrder());
    const polled = await creator.client.GET('/orders/{orderId}', {
      params: { path: { orderId: order.id }, header: { 'If-None-Match': etag } },
    });
    expect(polled.response.status).toBe(304);
    expect(polled.response.headers.get('etag')).toBe(etag);
    const me = await creator.client.GET('/users/me');
    const meAgain = await creator.client.GET('/users/me', { params: { header: { 'If-None-Match': me.response.headers.get('etag')! } } });
    expect(meAgain.response.status).toBe(304);
  });
});
