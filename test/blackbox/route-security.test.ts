/**
 * A route enforces the security its contract declares: walking the committed OpenAPI document,
 * every operation that asks for the bearer token answers 401 problem+json without one (and with a
 * garbage one), before anything else is looked at; every public operation answers without a token
 * and never with 401 for want of one.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { answerOf, expectProblem, snapshot } from '../support/problems.js';
import { useServer } from '../support/use-server.js';

interface Operation {
  operationId: string;
  security?: Record<string, string[]>[];
  requestBody?: unknown;
}
const DOCUMENT = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, Operation>>;
};
const OPERATIONS = Object.entries(DOCUMENT.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, operation]) => ({ path, method: method.toUpperCase(), operation })),
);
const bearer = (operation: Operation) => (operation.security ?? []).some((requirement) => 'bearerAuth' in requirement);
const SECURED = OPERATIONS.filter(({ operation }) => bearer(operation));
const PUBLIC = OPERATIONS.filter(({ operation }) => !bearer(operation));

const app = useServer();

/** The path with each {param} filled with a fresh UUID (or 1 for a numeric id, a name for a provider). */
const concrete = (path: string) =>
  path.replace(/\{(\w+)\}/g, (_, name: string) => (name === 'notificationId' ? '1' : name === 'provider' ? 'nowhere' : randomUUID()));

/**
 * What each public operation answers a request without a token (and a body that fits the dev
 * login): never 401 for want of a token. This server has no identity provider configured.
 */
const PUBLIC_ANSWERS: Record<string, number> = {
  createDevToken: 200,
  getHealth: 200,
  getReady: 200,
  getJwks: 200,
  // Public to HTTP but asks for the operator's METRICS_TOKEN, not a user's token.
  getMetrics: 401,
  startOidcLogin: 404,
  // No state in the query.
  finishOidcLogin: 400,
  // Neither is an ID token or a refresh token body.
  exchangeIdToken: 400,
  refreshSession: 400,
};

describe('security as the contract declares it', () => {
  it('the document has both kinds, and every operation declares its security', () => {
    expect(SECURED.length).toBeGreaterThan(15);
    expect(PUBLIC.map((o) => o.operation.operationId).sort()).toEqual(Object.keys(PUBLIC_ANSWERS).sort());
    for (const { operation } of OPERATIONS) expect(operation.security, operation.operationId).toBeDefined();
  });

  it.each(SECURED.map((o) => [`${o.method} ${o.path}`, o] as const))(
    '%s without a token, or with a bad one, is 401 and changes nothing',
    async (_name, { path, method, operation }) => {
      const before = await snapshot(app.db.sql);
      for (const [authorization, code] of [
        [undefined, 'unauthorized'],
        ['Bearer not-a-token', 'token_invalid'],
        [`Basic ${Buffer.from('a:b').toString('base64')}`, 'unauthorized'],
      ] as const) {
        const headers: Record<string, string> = { 'If-Match': '*', 'Idempotency-Key': randomUUID() };
        if (authorization) headers.Authorization = authorization;
        // A body that would be refused if it were read: the token is checked first.
        if (operation.requestBody) Object.assign(headers, { 'Content-Type': 'text/plain' });
        const url = concrete(path);
        const answer = await answerOf(
          await fetch(app.server.baseUrl + url, { method, headers, body: operation.requestBody ? 'not json' : undefined }),
        );
        expectProblem(answer, 401, code, url);
      }
      expect(await snapshot(app.db.sql)).toEqual(before);
    },
  );

  it.each(PUBLIC.map((o) => [`${o.method} ${o.path}`, o] as const))(
    '%s answers without a token, never 401 for want of one',
    async (_name, { path, method, operation }) => {
      const body = operation.requestBody ? JSON.stringify({ email: `${randomUUID()}@example.com`, name: 'Public' }) : undefined;
      const response = await fetch(app.server.baseUrl + concrete(path), {
        method,
        headers: body ? { 'Content-Type': 'application/json' } : {},
        body,
      });
      expect(response.status).toBe(PUBLIC_ANSWERS[operation.operationId]);
    },
  );
});
