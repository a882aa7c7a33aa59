/**
 * Bad input never gets further than the edge: each case of the table below (malformed, forged or
 * expired tokens, bodies and parameters that break the schema, bad headers, oversized or cut-off
 * bodies) is answered with its own 4xx as problem+json and leaves every table exactly as it was.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { decodeJwt, SignJWT, UnsecuredJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCoOrderClient, type CoOrderClient } from '../../openapi/client.js';
import { eventually } from '../support/eventually.js';
import { requestsByStatus } from '../support/metrics.js';
import { answerOf, expectProblem, sdkAnswer, snapshot, type Answer } from '../support/problems.js';
import { TEST_METRICS_TOKEN } from '../support/server.js';
import { signAccessToken, signingKey, signingKeysEnv } from '../support/tokens.js';
import { useServer } from '../support/use-server.js';
import { JEONJU, expectLedgerBalanced, newKey, signUp, type TestUser } from '../support/world.js';

// The test server's signing key, so that tokens can be made that are well signed but wrong otherwise.
const SERVER_KEY = await signingKey('test-server-key');
// What every development server signed with before keys were generated: public, in the history.
const FORMER_DEV_CONSTANT = 'development-only-secret-change-me-in-production!';
const MAX_BODY = 64 * 1024;

const app = useServer({ AUTH_SIGNING_KEYS: signingKeysEnv(SERVER_KEY) });
let victim: TestUser;
let menuId: string;
let storeId: string;
let tokens: Record<
  | 'forged'
  | 'formerConstant'
  | 'expired'
  | 'wrongIssuer'
  | 'wrongAudience'
  | 'unsigned'
  | 'hmacWithPublicKey'
  | 'noSubject'
  | 'noSession'
  | 'unknownKid'
  | 'issuedInFuture'
  | 'livesTooLong'
  | 'unknownUser'
  | 'notAUserId'
  | 'notYetValid',
  string
>;

/** An HS256 token: what a server that trusted the header's alg would accept. */
const hs256 = (claims: Record<string, unknown>, key: Uint8Array) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: SERVER_KEY.kid }).sign(key);

beforeAll(async () => {
  // The user every bad request aims at, with something in each table a request could touch.
  victim = await signUp(app.server.baseUrl, 'Victim');
  const address = await victim.client.PUT('/users/me/address', {
    params: { header: { 'If-Match': '*' } },
    body: { address: '전북 전주시 덕진구 백제대로 567', ...JEONJU },
  });
  expect(address.response.status).toBe(200);
  const topUp = await victim.client.POST('/users/me/credit/top-ups', {
    params: { header: { 'Idempotency-Key': newKey() } },
    body: { amount: 12_345 },
  });
  expect(topUp.response.status).toBe(201);
  const stores = await victim.client.GET('/stores', { params: { query: { category: '치킨' } } });
  storeId = stores.data!.items[0].id;
  const menus = await victim.client.GET('/stores/{storeId}/menus', { params: { path: { storeId } } });
  menuId = menus.data!.items[0].id;
  expect((await victim.client.PUT('/cart/items/{menuId}', { params: { path: { menuId } }, body: { quantity: 2 } })).response.status).toBe(
    200,
  );

  const now = Math.floor(Date.now() / 1000);
  // The victim's own session: a token wrong in one way only is still refused.
  const { sub, sid } = decodeJwt(victim.token) as { sub: string; sid: string };
  const theirs = { sub, sid };
  tokens = {
    forged: await signAccessToken(await signingKey(SERVER_KEY.kid), theirs),
    formerConstant: await hs256({ ...theirs, iss: 'co-order', exp: now + 600 }, new TextEncoder().encode(FORMER_DEV_CONSTANT)),
    expired: await signAccessToken(SERVER_KEY, { ...theirs, iat: now - 960, exp: now - 60 }),
    wrongIssuer: await signAccessToken(SERVER_KEY, { ...theirs, iss: 'someone-else' }),
    wrongAudience: await signAccessToken(SERVER_KEY, { ...theirs, aud: 'another-api' }),
    unsigned: new UnsecuredJWT({ sid }).setSubject(sub).setIssuer('co-order').setAudience('co-order-api').setExpirationTime('10m').encode(),
    hmacWithPublicKey: await hs256(
      { ...theirs, iss: 'co-order', aud: 'co-order-api', iat: now, exp: now + 600 },
      new TextEncoder().encode(JSON.stringify({ kty: SERVER_KEY.kty, crv: SERVER_KEY.crv, x: SERVER_KEY.x, y: SERVER_KEY.y })),
    ),
    noSubject: await signAccessToken(SERVER_KEY, { ...theirs, sub: undefined }),
    noSession: await signAccessToken(SERVER_KEY, { ...theirs, sid: undefined }),
    unknownKid: await signAccessToken(SERVER_KEY, theirs, { kid: 'another-kid' }),
    issuedInFuture: await signAccessToken(SERVER_KEY, { ...theirs, iat: now + 600, exp: now + 900 }),
    livesTooLong: await signAccessToken(SERVER_KEY, { ...theirs, iat: now, exp: now + 24 * 3600 }),
    unknownUser: await signAccessToken(SERVER_KEY, { sub: randomUUID(), sid }),
    notAUserId: await signAccessToken(SERVER_KEY, { ...theirs, sub: 'admin' }),
    notYetValid: await signAccessToken(SERVER_KEY, { ...theirs, nbf: now + 600 }),
  };
});

const as = (token: string | undefined): CoOrderClient => createCoOrderClient(app.server.baseUrl, token);
const me = () => victim.client;
const key = () => ({ 'Idempotency-Key': newKey() });

/** Only for what the SDK cannot express: bodies that are not JSON, or headers it would not send. */
async function raw(
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: RequestInit['body']; auth?: boolean } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...(init.auth === false ? {} : { Authorization: `Bearer ${victim.token}` }), ...init.headers };
  const request: RequestInit & { duplex?: 'half' } = { method, headers, body: init.body };
  if (init.body instanceof ReadableStream) request.duplex = 'half';
  return answerOf(await fetch(app.server.baseUrl + path, request));
}
const json = { 'Content-Type': 'application/json' };

/** `text` as a stream in 8 KiB chunks: sent with no Content-Length (chunked). */
function streamOf(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(sent, sent + 8192));
      sent += 8192;
    },
  });
}

/** JSON-ish bytes (never closed) with no Content-Length (chunked). */
const chunked = (totalBytes: number) => streamOf(`{"amount":1000${' '.repeat(totalBytes - 14)}`);

interface Case {
  name: string;
  status: number;
  code: string;
  /** Where errors[] must point, for validation failures. */
  errorPath?: string;
  send: () => Promise<Answer>;
}

const topUp = (body: unknown, client = me(), headers: Record<string, string> = key()) =>
  client
    .POST('/users/me/credit/top-ups', { params: { header: headers as { 'Idempotency-Key': string } }, body: body as { amount: number } })
    .then(sdkAnswer);
const putAddress = (body: unknown, ifMatch = '*', client = me()) =>
  client
    .PUT('/users/me/address', { params: { header: { 'If-Match': ifMatch } }, body: body as { address: string; lat: number; lon: number } })
    .then(sdkAnswer);
const putCart = (body: unknown, id = menuId, client = me()) =>
  client.PUT('/cart/items/{menuId}', { params: { path: { menuId: id } }, body: body as { quantity: number } }).then(sdkAnswer);
const login = (body: unknown) =>
  as(undefined)
    .POST('/auth/dev/token', { body: body as { email: string; name: string } })
    .then(sdkAnswer);
const ADDRESS = { address: '전북 전주시 덕진구 명륜4길 12', lat: 35.8471, lon: 127.1302 };

const cases: Case[] = [
  // Wrong types
  {
    name: 'top-up amount as a string',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.amount',
    send: () => topUp({ amount: '1000' }),
  },
  { name: 'top-up amount null', status: 400, code: 'validation_failed', errorPath: 'body.amount', send: () => topUp({ amount: null }) },
  {
    name: 'top-up amount a boolean',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.amount',
    send: () => topUp({ amount: true }),
  },
  {
    name: 'top-up amount an object',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.amount',
    send: () => topUp({ amount: { value: 1000 } }),
  },
  { name: 'top-up body an array', status: 400, code: 'validation_failed', send: () => topUp([1000]) },
  { name: 'top-up body missing amount', status: 400, code: 'validation_failed', errorPath: 'body.amount', send: () => topUp({}) },
  {
    name: 'cart quantity as a string',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.quantity',
    send: () => putCart({ quantity: '2' }),
  },
  {
    name: 'cart quantity null',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.quantity',
    send: () => putCart({ quantity: null }),
  },
  {
    name: 'address lat as a string',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.lat',
    send: () => putAddress({ ...ADDRESS, lat: '35.8471' }),
  },
  {
    name: 'address lon null',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.lon',
    send: () => putAddress({ ...ADDRESS, lon: null }),
  },
  {
    name: 'address missing lon',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.lon',
    send: () => putAddress({ address: ADDRESS.address, lat: ADDRESS.lat }),
  },
  {
    name: 'address as a number',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.address',
    send: () => putAddress({ ...ADDRESS, address: 567 }),
  },
  {
    name: 'login email not an email',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.email',
    send: () => login({ email: 'not-an-email', name: 'X' }),
  },
  {
    name: 'login name empty',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.name',
    send: () => login({ email: `${randomUUID()}@example.com`, name: '   ' }),
  },
  {
    name: 'login name too long',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.name',
    send: () => login({ email: `${randomUUID()}@example.com`, name: 'n'.repeat(101) }),
  },
  {
    name: 'ledger limit not a number',
    status: 400,
    code: 'validation_failed',
    errorPath: 'query.limit',
    send: () => raw('GET', '/users/me/ledger?limit=abc'),
  },
  // Negative, zero, huge and fractional amounts
  { name: 'top-up negative', status: 400, code: 'validation_failed', errorPath: 'body.amount', send: () => topUp({ amount: -1000 }) },
  { name: 'top-up zero', status: 400, code: 'validation_failed', errorPath: 'body.amount', send: () => topUp({ amount: 0 }) },
  { name: 'top-up fractional', status: 400, code: 'validation_failed', errorPath: 'body.amount', send: () => topUp({ amount: 0.5 }) },
  {
    name: 'top-up one over the cap',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.amount',
    send: () => topUp({ amount: 1_000_001 }),
  },
  {
    name: 'top-up beyond 2^53',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.amount',
    send: () => topUp({ amount: 2 ** 53 + 2 }),
  },
  {
    name: 'top-up 1e400 (Infinity once parsed)',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.amount',
    send: () => raw('POST', '/users/me/credit/top-ups', { headers: { ...json, ...key() }, body: '{"amount":1e400}' }),
  },
  {
    name: 'top-up duplicate key, last one negative',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.amount',
    send: () => raw('POST', '/users/me/credit/top-ups', { headers: { ...json, ...key() }, body: '{"amount":1000,"amount":-1000}' }),
  },
  { name: 'cart quantity zero', status: 400, code: 'validation_failed', errorPath: 'body.quantity', send: () => putCart({ quantity: 0 }) },
  {
    name: 'cart quantity negative',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.quantity',
    send: () => putCart({ quantity: -3 }),
  },
  { name: 'cart quantity 100', status: 400, code: 'validation_failed', errorPath: 'body.quantity', send: () => putCart({ quantity: 100 }) },
  {
    name: 'cart quantity fractional',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.quantity',
    send: () => putCart({ quantity: 1.5 }),
  },
  {
    name: 'ledger limit 0',
    status: 400,
    code: 'validation_failed',
    errorPath: 'query.limit',
    send: () =>
      me()
        .GET('/users/me/ledger', { params: { query: { limit: 0 } } })
        .then(sdkAnswer),
  },
  {
    name: 'stores limit 101',
    status: 400,
    code: 'validation_failed',
    errorPath: 'query.limit',
    send: () =>
      me()
        .GET('/stores', { params: { query: { limit: 101 } } })
        .then(sdkAnswer),
  },
  // Bad coordinates and addresses
  { name: 'lat 91', status: 400, code: 'validation_failed', errorPath: 'body.lat', send: () => putAddress({ ...ADDRESS, lat: 91 }) },
  {
    name: 'lat -90.0001',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.lat',
    send: () => putAddress({ ...ADDRESS, lat: -90.0001 }),
  },
  { name: 'lon -181', status: 400, code: 'validation_failed', errorPath: 'body.lon', send: () => putAddress({ ...ADDRESS, lon: -181 }) },
  { name: 'lon 180.5', status: 400, code: 'validation_failed', errorPath: 'body.lon', send: () => putAddress({ ...ADDRESS, lon: 180.5 }) },
  {
    name: 'empty address',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.address',
    send: () => putAddress({ ...ADDRESS, address: '' }),
  },
  {
    name: 'blank address',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.address',
    send: () => putAddress({ ...ADDRESS, address: '    ' }),
  },
  {
    name: 'address over 300 characters',
    status: 400,
    code: 'validation_failed',
    errorPath: 'body.address',
    send: () => putAddress({ ...ADDRESS, address: '가'.repeat(301) }),
  },
  // Unknown body fields
  { name: 'top-up with an extra field', status: 400, code: 'validation_failed', send: () => topUp({ amount: 1000, bonus: 1_000_000 }) },
  {
    name: 'address with an extra field',
    status: 400,
    code: 'validation_failed',
    send: () => putAddress({ ...ADDRESS, credit: 9_999_999 }),
  },
  { name: 'cart with an extra field', status: 400, code: 'validation_failed', send: () => putCart({ quantity: 1, price: 1 }) },
  {
    name: 'login with an extra field',
    status: 400,
    code: 'validation_failed',
    send: () => login({ email: `${randomUUID()}@example.com`, name: 'X', credit: 1e9 }),
  },
  {
    name: 'top-up with __proto__',
    status: 400,
    code: 'validation_failed',
    send: () =>
      raw('POST', '/users/me/credit/top-ups', { headers: { ...json, ...key() }, body: '{"__proto__":{"amount":5},"amount":1000,"x":1}' }),
  },
  // Unknown and malformed ids
  {
    name: 'unknown store',
    status: 404,
    code: 'not_found',
    send: () =>
      me()
        .GET('/stores/{storeId}', { params: { path: { storeId: randomUUID() } } })
        .then(sdkAnswer),
  },
  {
    name: 'menus of an unknown store',
    status: 404,
    code: 'not_found',
    send: () =>
      me()
        .GET('/stores/{storeId}/menus', { params: { path: { storeId: randomUUID() } } })
        .then(sdkAnswer),
  },
  { name: 'unknown menu into the cart', status: 404, code: 'not_found', send: () => putCart({ quantity: 1 }, randomUUID()) },
  {
    name: 'store id not a uuid',
    status: 400,
    code: 'validation_failed',
    errorPath: 'path.storeId',
    send: () =>
      me()
        .GET('/stores/{storeId}', { params: { path: { storeId: '12345' } } })
        .then(sdkAnswer),
  },
  {
    name: 'menu id not a uuid (put)',
    status: 400,
    code: 'validation_failed',
    errorPath: 'path.menuId',
    send: () => putCart({ quantity: 1 }, 'abc'),
  },
  {
    name: 'menu id not a uuid (delete)',
    status: 400,
    code: 'validation_failed',
    errorPath: 'path.menuId',
    send: () =>
      me()
        .DELETE('/cart/items/{menuId}', { params: { path: { menuId: 'abc' } } })
        .then(sdkAnswer),
  },
  {
    name: 'cursor not issued by the API',
    status: 400,
    code: 'validation_failed',
    errorPath: 'query.cursor',
    send: () =>
      me()
        .GET('/users/me/ledger', { params: { query: { cursor: 'eyJpZCI6Im5vcGUifQ' } } })
        .then(sdkAnswer),
  },
  // Missing, malformed, forged and expired tokens
  { name: 'no token: GET /users/me', status: 401, code: 'unauthorized', send: () => as(undefined).GET('/users/me').then(sdkAnswer) },
  { name: 'no token: top-up', status: 401, code: 'unauthorized', send: () => topUp({ amount: 1000 }, as(undefined)) },
  { name: 'no token: cart', status: 401, code: 'unauthorized', send: () => putCart({ quantity: 1 }, menuId, as(undefined)) },
  { name: 'not a JWT', status: 401, code: 'token_invalid', send: () => as('not-a-jwt').GET('/users/me').then(sdkAnswer) },
  {
    name: 'Basic instead of Bearer',
    status: 401,
    code: 'unauthorized',
    send: () => raw('GET', '/users/me', { auth: false, headers: { Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } }),
  },
  {
    name: 'Bearer with nothing',
    status: 401,
    code: 'unauthorized',
    send: () => raw('GET', '/users/me', { auth: false, headers: { Authorization: 'Bearer ' } }),
  },
  {
    name: 'token signed with another secret',
    status: 401,
    code: 'token_invalid',
    send: () => as(tokens.forged).GET('/users/me').then(sdkAnswer),
  },
  {
    name: 'token signed with the former development constant',
    status: 401,
    code: 'token_invalid',
    send: () => as(tokens.formerConstant).GET('/users/me').then(sdkAnswer),
  },
  { name: 'forged token: top-up', status: 401, code: 'token_invalid', send: () => topUp({ amount: 1_000_000 }, as(tokens.forged)) },
  { name: 'forged token: address', status: 401, code: 'token_invalid', send: () => putAddress(ADDRESS, '*', as(tokens.forged)) },
  { name: 'expired token', status: 401, code: 'token_expired', send: () => as(tokens.expired).GET('/users/me').then(sdkAnswer) },
  { name: 'expired token: top-up', status: 401, code: 'token_expired', send: () => topUp({ amount: 1000 }, as(tokens.expired)) },
  { name: 'token not valid yet', status: 401, code: 'token_invalid', send: () => as(tokens.notYetValid).GET('/users/me').then(sdkAnswer) },
  {
    name: 'token of another issuer',
    status: 401,
    code: 'token_invalid',
    send: () => as(tokens.wrongIssuer).GET('/users/me').then(sdkAnswer),
  },
  {
    name: 'unsigned token (alg none)',
    status: 401,
    code: 'token_invalid',
    send: () => as(tokens.unsigned).GET('/users/me').then(sdkAnswer),
  },
  {
    name: 'HS256 token whose key is the public key',
    status: 401,
    code: 'token_invalid',
    send: () => as(tokens.hmacWithPublicKey).GET('/users/me').then(sdkAnswer),
  },
  {
    name: 'token for another audience',
    status: 401,
    code: 'token_invalid',
    send: () => as(tokens.wrongAudience).GET('/users/me').then(sdkAnswer),
  },
  {
    name: 'token without a session',
    status: 401,
    code: 'token_invalid',
    send: () => as(tokens.noSession).GET('/users/me').then(sdkAnswer),
  },
  {
    name: 'token with an unknown kid',
    status: 401,
    code: 'token_invalid',
    send: () => as(tokens.unknownKid).GET('/users/me').then(sdkAnswer),
  },
  {
    name: 'token issued in the future',
    status: 401,
    code: 'token_invalid',
    send: () => as(tokens.issuedInFuture).GET('/users/me').then(sdkAnswer),
  },
  {
    name: 'token living longer than 15 minutes',
    status: 401,
    code: 'token_invalid',
    send: () => as(tokens.livesTooLong).GET('/users/me').then(sdkAnswer),
  },
  {
    name: 'token without a subject',
    status: 401,
    code: 'token_invalid',
    send: () => as(tokens.noSubject).GET('/users/me').then(sdkAnswer),
  },
  {
    name: 'valid token of an unknown user: me',
    status: 401,
    code: 'token_invalid',
    send: () => as(tokens.unknownUser).GET('/users/me').then(sdkAnswer),
  },
  {
    name: 'valid token of an unknown user: top-up',
    status: 401,
    code: 'token_invalid',
    send: () => topUp({ amount: 1000 }, as(tokens.unknownUser)),
  },
  {
    name: 'valid token of an unknown user: address',
    status: 401,
    code: 'token_invalid',
    send: () => putAddress(ADDRESS, '*', as(tokens.unknownUser)),
  },
  {
    name: 'valid token of an unknown user: cart',
    status: 401,
    code: 'token_invalid',
    send: () => putCart({ quantity: 1 }, menuId, as(tokens.unknownUser)),
  },
  {
    name: 'valid token of an unknown user: read the cart',
    status: 401,
    code: 'token_invalid',
    send: () => as(tokens.unknownUser).GET('/cart').then(sdkAnswer),
  },
  {
    name: 'valid token of an unknown user: ledger',
    status: 401,
    code: 'token_invalid',
    send: () => as(tokens.unknownUser).GET('/users/me/ledger').then(sdkAnswer),
  },
  {
    name: 'valid token of an unknown user: create an order',
    status: 401,
    code: 'token_invalid',
    send: () =>
      as(tokens.unknownUser)
        .POST('/orders', {
          params: { header: key() },
          body: { store_id: storeId, split_type: 'split', items: [{ menu_id: menuId, quantity: 1 }] } as never,
        })
        .then(sdkAnswer),
  },
  {
    name: 'valid token whose subject is not a user id',
    status: 401,
    code: 'token_invalid',
    send: () => as(tokens.notAUserId).GET('/users/me').then(sdkAnswer),
  },
  {
    name: 'valid token whose subject is not a user id: cart',
    status: 401,
    code: 'token_invalid',
    send: () => as(tokens.notAUserId).GET('/cart').then(sdkAnswer),
  },
  // Malformed JSON
  {
    name: 'truncated JSON',
    status: 400,
    code: 'malformed_json',
    send: () => raw('POST', '/users/me/credit/top-ups', { headers: { ...json, ...key() }, body: '{"amount": 1000' }),
  },
  {
    name: 'JSON with single quotes',
    status: 400,
    code: 'malformed_json',
    send: () => raw('PUT', '/users/me/address', { headers: { ...json, 'If-Match': '*' }, body: "{'address':'x','lat':1,'lon':1}" }),
  },
  {
    name: 'not JSON at all',
    status: 400,
    code: 'malformed_json',
    send: () => raw('PUT', `/cart/items/${menuId}`, { headers: json, body: 'quantity=2' }),
  },
  {
    name: 'malformed JSON at login',
    status: 400,
    code: 'malformed_json',
    send: () => raw('POST', '/auth/dev/token', { auth: false, headers: json, body: '{"email":' }),
  },
  // Wrong content type
  {
    name: 'text/plain body',
    status: 415,
    code: 'unsupported_media_type',
    send: () => raw('POST', '/users/me/credit/top-ups', { headers: { 'Content-Type': 'text/plain', ...key() }, body: '{"amount":1000}' }),
  },
  {
    name: 'form body',
    status: 415,
    code: 'unsupported_media_type',
    send: () =>
      raw('PUT', `/cart/items/${menuId}`, { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'quantity=2' }),
  },
  {
    name: 'body without a content type',
    status: 415,
    code: 'unsupported_media_type',
    send: () => raw('PUT', '/users/me/address', { headers: { 'If-Match': '*' }, body: new TextEncoder().encode(JSON.stringify(ADDRESS)) }),
  },
  {
    name: 'login as XML',
    status: 415,
    code: 'unsupported_media_type',
    send: () => raw('POST', '/auth/dev/token', { auth: false, headers: { 'Content-Type': 'application/xml' }, body: '<login/>' }),
  },
  // Oversized bodies
  {
    name: 'address of 70,000 characters',
    status: 413,
    code: 'payload_too_large',
    send: () => putAddress({ ...ADDRESS, address: 'x'.repeat(70_000) }),
  },
  {
    name: 'valid JSON padded past 64 KiB',
    status: 413,
    code: 'payload_too_large',
    send: () => raw('POST', '/users/me/credit/top-ups', { headers: { ...json, ...key() }, body: `{"amount":1000${' '.repeat(MAX_BODY)}}` }),
  },
  {
    name: 'chunked body past 64 KiB (no Content-Length)',
    status: 413,
    code: 'payload_too_large',
    send: () => raw('POST', '/users/me/credit/top-ups', { headers: { ...json, ...key() }, body: chunked(MAX_BODY + 4096) }),
  },
  {
    name: 'oversized login',
    status: 413,
    code: 'payload_too_large',
    send: () => login({ email: `${randomUUID()}@example.com`, name: 'n'.repeat(MAX_BODY) }),
  },
  // Idempotency-Key and If-Match headers
  { name: 'top-up without Idempotency-Key', status: 400, code: 'idempotency_key_missing', send: () => topUp({ amount: 1000 }, me(), {}) },
  {
    name: 'empty Idempotency-Key',
    status: 400,
    code: 'validation_failed',
    errorPath: 'header.Idempotency-Key',
    send: () => topUp({ amount: 1000 }, me(), { 'Idempotency-Key': '' }),
  },
  {
    name: 'Idempotency-Key of 256 characters',
    status: 400,
    code: 'validation_failed',
    errorPath: 'header.Idempotency-Key',
    send: () => topUp({ amount: 1000 }, me(), { 'Idempotency-Key': 'k'.repeat(256) }),
  },
  {
    name: 'non-ASCII Idempotency-Key',
    status: 400,
    code: 'validation_failed',
    errorPath: 'header.Idempotency-Key',
    send: () => topUp({ amount: 1000 }, me(), { 'Idempotency-Key': 'clé-1' }),
  },
  {
    name: 'Idempotency-Key with a tab',
    status: 400,
    code: 'validation_failed',
    errorPath: 'header.Idempotency-Key',
    send: () => topUp({ amount: 1000 }, me(), { 'Idempotency-Key': 'a\tb' }),
  },
  {
    name: 'If-Match not an entity tag',
    status: 400,
    code: 'validation_failed',
    errorPath: 'header.If-Match',
    send: () => putAddress(ADDRESS, 'v1'),
  },
  { name: 'If-Match stale', status: 412, code: 'precondition_failed', send: () => putAddress(ADDRESS, '"v1"') },
  { name: 'If-Match weak', status: 412, code: 'precondition_failed', send: () => putAddress(ADDRESS, 'W/"v4"') },
  {
    name: 'If-Match version out of range',
    status: 400,
    code: 'validation_failed',
    errorPath: 'header.If-Match',
    send: () => putAddress(ADDRESS, '"v2147483648"'),
  },
];

describe('bad input', () => {
  it('the table is large, without duplicates, and covers every refusal status from 400 to 415', () => {
    expect(cases.length).toBeGreaterThan(60);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    expect(new Set(cases.map((c) => c.status))).toEqual(new Set([400, 401, 404, 412, 413, 415]));
  });

  it.each(cases)('$name → $status $code, data unchanged', async (c) => {
    const before = await snapshot(app.db.sql);
    const answer = await c.send();
    const problem = expectProblem(answer, c.status, c.code, new URL(answer.response.url).pathname);
    if (c.errorPath) expect((problem.errors as { path: string }[]).map((e) => e.path)).toContain(c.errorPath);
    expect(await snapshot(app.db.sql)).toEqual(before);
  });

  it('the victim is exactly as set up afterwards, and the server still serves them', async () => {
    const profile = await victim.client.GET('/users/me');
    expect(profile.data).toMatchObject({ credit: 62_345, address: '전북 전주시 덕진구 백제대로 567', ...JEONJU });
    const cart = await victim.client.GET('/cart');
    expect(cart.data!.items.map((i) => [i.menu_id, i.quantity])).toEqual([[menuId, 2]]);
    // Besides the demo seed's store staff and riders, nobody was signed up by all that input.
    const [{ users }] = await app.db.sql`SELECT count(*)::int AS users FROM users WHERE email NOT LIKE '%@demo.co-order.dev'`;
    expect(users).toBe(1);
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('the body limit is 64 KiB exactly', () => {
  /** A top-up of 1,000 KRW padded with spaces to exactly `bytes` bytes. */
  const padded = (bytes: number) => {
    const start = '{"amount":1000';
    return `${start}${' '.repeat(bytes - start.length - 1)}}`;
  };

  it('accepts a body of exactly 65,536 bytes and refuses 65,537', async () => {
    expect(Buffer.byteLength(padded(MAX_BODY))).toBe(MAX_BODY);
    const before = await snapshot(app.db.sql);
    const over = await raw('POST', '/users/me/credit/top-ups', { headers: { ...json, ...key() }, body: padded(MAX_BODY + 1) });
    expectProblem(over, 413, 'payload_too_large', '/users/me/credit/top-ups');
    expect(await snapshot(app.db.sql)).toEqual(before);
    const exact = await raw('POST', '/users/me/credit/top-ups', { headers: { ...json, ...key() }, body: padded(MAX_BODY) });
    expect(exact.response.status).toBe(201);
    expect(exact.body).toMatchObject({ entry: { amount: 1000 } });
    await expectLedgerBalanced(app.db.sql);
  });

  it('so is a chunked body (no Content-Length), counted as it streams', async () => {
    const before = await snapshot(app.db.sql);
    const over = await raw('POST', '/users/me/credit/top-ups', { headers: { ...json, ...key() }, body: streamOf(padded(MAX_BODY + 1)) });
    expectProblem(over, 413, 'payload_too_large', '/users/me/credit/top-ups');
    expect(await snapshot(app.db.sql)).toEqual(before);
    const exact = await raw('POST', '/users/me/credit/top-ups', { headers: { ...json, ...key() }, body: streamOf(padded(MAX_BODY)) });
    expect(exact.response.status).toBe(201);
    expect(exact.body).toMatchObject({ entry: { amount: 1000 } });
    await expectLedgerBalanced(app.db.sql);
  });
});

describe('a body cut off mid-way', () => {
  it('changes nothing, is counted as a client error (not a 5xx), and the server goes on serving', async () => {
    const route = '/users/me/credit/top-ups';
    const before = await snapshot(app.db.sql);
    const counted = async () =>
      requestsByStatus((await as(TEST_METRICS_TOKEN).GET('/metrics', { parseAs: 'text' })).data as string, 'POST', route);
    const was = await counted();
    // Headers promise 1,000 bytes; ten arrive, then the client hangs up.
    const socket = connect(Number(new URL(app.server.baseUrl).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST ${route} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${victim.token}\r\n` +
        `Content-Type: application/json\r\nIdempotency-Key: ${newKey()}\r\nContent-Length: 1000\r\n\r\n{"amount":`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    const refused = (was['400'] ?? 0) + 1;
    const now = await eventually(
      async () => {
        const seen = await counted();
        return (seen['400'] ?? 0) >= refused && seen;
      },
      () => `the cut-off request was never counted as a 400`,
    );
    expect(now['400']).toBe(refused);
    expect(Object.keys(now).filter((status) => status.startsWith('5'))).toEqual([]);
    expect(await snapshot(app.db.sql)).toEqual(before);
    expect((await topUp({ amount: 1000 })).response.status).toBe(201);
    await expectLedgerBalanced(app.db.sql);
  });
});
