import { createRoute, z } from '@hono/zod-openapi';
import { DEFAULTS } from '../config.js';
import { TEXT_RULE } from '../domain/text.js';
import { emptyResponse, headers, jsonResponse, plainText, problems, problemsWithoutDatabase, security } from '../http/openapi.js';
import { UserSchema } from '../users/routes.js';

export const DevTokenInput = z
  .strictObject({
    email: z.string().trim().toLowerCase().email().max(254).openapi({ example: 'minji@example.com' }),
    name: plainText(100).openapi({ description: `Plain text: ${TEXT_RULE}; spaces are collapsed and trimmed.`, example: '김민지' }),
    staff_of: z
      .array(z.string().uuid())
      .max(20)
      .optional()
      .openapi({
        description: 'Make the user staff of these stores (granted, never revoked here; 422 for an unknown store).',
        example: ['0d7e2b1a-3c4f-4a5b-8c6d-7e8f9a0b1c2d'],
      }),
    rider: z
      .boolean()
      .optional()
      .openapi({ description: 'Make the user a rider (true grants; false or absent changes nothing).', example: true }),
  })
  .openapi('DevTokenInput', {
    description: 'Who to sign in as; the email identifies the user (case-insensitively). In development, roles may be granted here too.',
  });

export const SessionSchema = z
  .object({
    access_token: z.string().openapi({
      description:
        'Send as `Authorization: Bearer <access_token>`. A JWT signed with ES256 (its `kid` names a key of ' +
        '`GET /.well-known/jwks.json`), carrying `sub` (the user), `sid` (the session), `iat`, `exp`, `iss` and `aud`.',
      example: 'eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiIzYjhmIiwic2lkIjoiMDE5MyJ9.c2lnbmF0dXJl',
    }),
    token_type: z.literal('Bearer').openapi({ example: 'Bearer' }),
    expires_in: z
      .number()
      .int()
      .openapi({ description: 'Seconds until the access token expires (at most 900).', example: DEFAULTS.ACCESS_TOKEN_TTL_SECONDS }),
    refresh_token: z.string().openapi({
      description:
        'Opaque; trade it at `POST /auth/refresh` for a new pair before the access token expires. Each use spends it. ' +
        `Unused for ${DEFAULTS.REFRESH_TOKEN_TTL_DAYS} days (by default) it expires. Keep it secret: a spent token presented again ` +
        'more than 10 seconds after its use revokes the whole session.',
      example: 'n2Zb0kQq3m1c7oRr5yTt8uVv9wWx0yYz1aAb2cCd3eE',
    }),
    user: UserSchema,
  })
  .openapi('Session', { description: 'A signed-in session: a short-lived access token, the refresh token that renews it, and the user.' });

const ProviderParam = z.object({
  provider: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,31}$/)
    .openapi({ param: { name: 'provider', in: 'path', description: 'A configured identity provider, e.g. `google`.' }, example: 'google' }),
});

const sessionResponse = (description: string) => jsonResponse(description, SessionSchema);

export const devTokenRoute = createRoute({
  method: 'post',
  path: '/auth/dev/token',
  operationId: 'createDevToken',
  tags: ['auth'],
  summary: 'Development login',
  description:
    'Signs in by email with no password: development and testing only (404 in production or when ' +
    `AUTH_DEV_LOGIN=false). The first login creates the user with the sign-up grant (${DEFAULTS.SIGNUP_GRANT_KRW.toLocaleString('en-US')} KRW by default). ` +
    'Answers a session like any other sign-in.',
  security: [],
  request: { body: { required: true, content: { 'application/json': { schema: DevTokenInput } } } },
  responses: {
    200: sessionResponse('A new session for the user.'),
    ...problems(400, 404, 409, 413, 415, 422),
  },
});

export const oidcAuthorizeRoute = createRoute({
  method: 'get',
  path: '/auth/oidc/{provider}/authorize',
  operationId: 'startOidcLogin',
  tags: ['auth'],
  summary: 'Start signing in with an identity provider',
  description:
    "Redirects (302) to the provider's authorization endpoint: the authorization code flow with PKCE (S256), `state` and `nonce`. " +
    'The login is remembered by the service for 10 minutes, so the callback may reach any instance. Open it in a browser.',
  security: [],
  request: { params: ProviderParam },
  responses: {
    302: {
      description: "To the provider's sign-in page (its authorization URL in Location).",
      headers: { ...headers.redirect, ...headers.requestId },
    },
    ...problems(404),
  },
});

const CallbackQuery = z.object({
  code: z.string().min(1).max(4096).optional().openapi({ description: 'The authorization code, when the person signed in.' }),
  state: z.string().min(1).max(512).openapi({ description: 'The state this service sent the provider.' }),
  error: z
    .string()
    .max(256)
    .optional()
    .openapi({ description: 'Set by the provider when it did not sign the person in (e.g. `access_denied`).' }),
  error_description: z.string().max(1024).optional().openapi({ description: "The provider's explanation of `error`, if any." }),
  iss: z.string().max(2048).optional().openapi({ description: "The provider's issuer (RFC 9207), checked when present." }),
});

export const oidcCallbackRoute = createRoute({
  method: 'get',
  path: '/auth/oidc/{provider}/callback',
  operationId: 'finishOidcLogin',
  tags: ['auth'],
  summary: 'Finish signing in (the redirect URI)',
  description:
    'Where the provider sends the person back. Checks the state (known, unused, not older than 10 minutes), exchanges the code ' +
    "with the PKCE verifier, and verifies the ID token (signature against the provider's keys, issuer, audience, nonce, expiry). " +
    'The person is found by their identity at the provider, or created: a verified email fills in a new account, or names an ' +
    'existing account with that email; an unverified one is not used. 400 `oidc_state_invalid` for an unknown, used or expired ' +
    'state; 400 `oidc_login_refused` when the provider did not sign the person in; 401 `id_token_invalid`.',
  security: [],
  request: { params: ProviderParam, query: CallbackQuery },
  responses: {
    200: sessionResponse('A new session for the person who signed in.'),
    ...problems(401, 404),
  },
});

export const IdTokenInput = z
  .strictObject({
    id_token: z.string().min(1).max(16_384).openapi({
      description: 'An ID token the provider issued to this service’s client id.',
      example: 'eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJodHRwczovL2FjY291bnRzLmdvb2dsZS5jb20ifQ.c2lnbmF0dXJl',
    }),
    nonce: z
      .string()
      .min(1)
      .max(512)
      .optional()
      .openapi({ description: 'The nonce the app sent the provider; when given, the ID token must carry it.', example: 'n-0S6_WzA2Mj' }),
  })
  .openapi('IdTokenInput', { description: 'An ID token a native app obtained from the provider itself.' });

export const oidcTokenRoute = createRoute({
  method: 'post',
  path: '/auth/oidc/{provider}/token',
  operationId: 'exchangeIdToken',
  tags: ['auth'],
  summary: 'Sign in with an ID token (native apps)',
  description:
    'For an app that signed the person in with the provider’s own SDK: the ID token is verified as at the callback (signature, ' +
    'issuer, audience = our client id, expiry, and the nonce when given), and answers a session. 401 `id_token_invalid`.',
  security: [],
  request: { params: ProviderParam, body: { required: true, content: { 'application/json': { schema: IdTokenInput } } } },
  responses: {
    200: sessionResponse('A new session for the person the ID token names.'),
    ...problems(401, 404, 413, 415),
  },
});

export const RefreshInput = z
  .strictObject({ refresh_token: z.string().min(1).max(512).openapi({ example: 'n2Zb0kQq3m1c7oRr5yTt8uVv9wWx0yYz1aAb2cCd3eE' }) })
  .openapi('RefreshInput');

export const refreshRoute = createRoute({
  method: 'post',
  path: '/auth/refresh',
  operationId: 'refreshSession',
  tags: ['auth'],
  summary: 'Renew a session',
  description:
    'Spends the refresh token for a new access token and a new refresh token. The same refresh token sent again within ' +
    '10 seconds (a retry of a lost answer) gets the same new pair; sent later, it is reuse: the session is revoked and the ' +
    'answer is 401 `refresh_token_reused`. 401 `refresh_token_invalid` for an unknown or expired token, `session_revoked` ' +
    'after a logout.',
  security: [],
  request: { body: { required: true, content: { 'application/json': { schema: RefreshInput } } } },
  responses: {
    200: sessionResponse('The renewed session.'),
    ...problems(401, 413, 415),
  },
});

export const LogoutInput = z
  .strictObject({
    all: z.boolean().default(false).openapi({ description: 'Sign out every session of the user, not only this one.', example: false }),
  })
  .openapi('LogoutInput');

export const logoutRoute = createRoute({
  method: 'post',
  path: '/auth/logout',
  operationId: 'logout',
  tags: ['auth'],
  summary: 'Sign out',
  description:
    'Revokes the caller\'s session (`{"all": true}`: every session of the user). Its access tokens are refused by every ' +
    'instance within 5 seconds (at once by this one) and its refresh token no longer works. The body is optional.',
  security,
  request: { body: { required: false, content: { 'application/json': { schema: LogoutInput } } } },
  responses: {
    204: emptyResponse('Signed out.'),
    ...problems(401, 413, 415),
  },
});

const JwkSchema = z
  .object({
    kty: z.literal('EC').openapi({ example: 'EC' }),
    crv: z.literal('P-256').openapi({ example: 'P-256' }),
    x: z.string().openapi({ example: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU' }),
    y: z.string().openapi({ example: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' }),
    kid: z.string().openapi({ example: 'key-2026-12' }),
    alg: z.literal('ES256').openapi({ example: 'ES256' }),
    use: z.literal('sig').openapi({ example: 'sig' }),
  })
  .openapi('Jwk', { description: 'A public key that verifies access tokens.' });

export const JwksSchema = z.object({ keys: z.array(JwkSchema) }).openapi('Jwks', { description: 'A JSON Web Key Set (RFC 7517).' });

export const jwksRoute = createRoute({
  method: 'get',
  path: '/.well-known/jwks.json',
  operationId: 'getJwks',
  tags: ['auth'],
  summary: 'Public keys of access tokens',
  description:
    'The keys that verify this service’s access tokens (by `kid`): the one that signs now and any retired ones whose tokens ' +
    'may still be live. Public; may be cached for 5 minutes.',
  security: [],
  responses: {
    200: jsonResponse('The key set.', JwksSchema),
    ...problemsWithoutDatabase(),
  },
});
