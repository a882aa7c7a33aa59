import type { RouteHandler } from '@hono/zod-openapi';
import { DomainError } from '../domain/errors.js';
import type { Deps } from '../http/deps.js';
import type { AppEnv } from '../http/env.js';
import { grantDevRoles } from '../roles/repository.js';
import { findOrCreateUser, findUser } from '../users/repository.js';
import { LOGIN_TTL_SECONDS, newLogin, stateHash, type OidcProvider } from './oidc.js';
import { presentSession } from './present.js';
import { revokeSessions, saveOidcLogin, takeOidcLogin } from './repository.js';
import type {
  devTokenRoute,
  jwksRoute,
  logoutRoute,
  oidcAuthorizeRoute,
  oidcCallbackRoute,
  oidcTokenRoute,
  refreshRoute,
} from './routes.js';
import type { AuthServices } from './services.js';
import { refreshSession, startSession } from './sessions.js';
import { signInWithIdentity } from './sign-in.js';

export const createDevToken =
  (deps: Deps, auth: AuthServices): RouteHandler<typeof devTokenRoute, AppEnv> =>
  async (c) => {
    if (!deps.config.AUTH_DEV_LOGIN) {
      throw new DomainError('dev_login_disabled', 'Development login is disabled on this server.');
    }
    const { email, name, ...roles } = c.req.valid('json');
    const { user, tokens } = await deps.db.transaction().execute(async (tx) => {
      const user = await findOrCreateUser(tx, email, name, deps.config.SIGNUP_GRANT_KRW);
      await grantDevRoles(tx, user.id, roles);
      return { user, tokens: await startSession(tx, auth.sessions, user.id) };
    });
    return c.json(presentSession(tokens, user), 200);
  };

function providerNamed(auth: AuthServices, name: string): OidcProvider {
  const provider = auth.providers.get(name);
  if (!provider) throw new DomainError('oidc_provider_unknown', `No identity provider named "${name}" is configured here.`);
  return provider;
}

export const startOidcLogin =
  (deps: Deps, auth: AuthServices): RouteHandler<typeof oidcAuthorizeRoute, AppEnv> =>
  async (c) => {
    const provider = providerNamed(auth, c.req.valid('param').provider);
    const login = newLogin();
    const location = await provider.authorizationUrl(login);
    await saveOidcLogin(deps.db, { stateHash: stateHash(login.state), provider: provider.name, ...login, ttlSeconds: LOGIN_TTL_SECONDS });
    return c.redirect(location, 302);
  };

export const finishOidcLogin =
  (deps: Deps, auth: AuthServices): RouteHandler<typeof oidcCallbackRoute, AppEnv> =>
  async (c) => {
    const provider = providerNamed(auth, c.req.valid('param').provider);
    const query = c.req.valid('query');
    // Taken before anything else: a state is good for one callback, whatever its outcome.
    const login = await takeOidcLogin(deps.db, stateHash(query.state), provider.name);
    if (!login)
      throw new DomainError('oidc_state_invalid', 'This sign-in is unknown, was already finished or is over 10 minutes old: start again.');
    if (query.error !== undefined) {
      throw new DomainError('oidc_login_refused', `${provider.name} did not sign the person in: ${query.error}.`);
    }
    const identity = await provider.finishLogin(new URL(c.req.url).searchParams, {
      state: query.state,
      nonce: login.nonce,
      codeVerifier: login.code_verifier,
    });
    const { user, tokens } = await signInWithIdentity(deps.db, auth.sessions, identity, deps.config.SIGNUP_GRANT_KRW);
    return c.json(presentSession(tokens, user), 200);
  };

export const exchangeIdToken =
  (deps: Deps, auth: AuthServices): RouteHandler<typeof oidcTokenRoute, AppEnv> =>
  async (c) => {
    const provider = providerNamed(auth, c.req.valid('param').provider);
    const { id_token, nonce } = c.req.valid('json');
    const identity = await provider.verifyIdToken(id_token, nonce);
    const { user, tokens } = await signInWithIdentity(deps.db, auth.sessions, identity, deps.config.SIGNUP_GRANT_KRW);
    return c.json(presentSession(tokens, user), 200);
  };

export const refresh =
  (deps: Deps, auth: AuthServices): RouteHandler<typeof refreshRoute, AppEnv> =>
  async (c) => {
    const tokens = await refreshSession(deps.db, auth.sessions, c.req.valid('json').refresh_token);
    // Users are never deleted: a session's user exists.
    const user = (await findUser(deps.db, tokens.userId))!;
    return c.json(presentSession(tokens, user), 200);
  };

export const logout =
  (deps: Deps, auth: AuthServices): RouteHandler<typeof logoutRoute, AppEnv> =>
  async (c) => {
    // The body is optional: none means this session only.
    const all = c.req.valid('json')?.all ?? false;
    const revoked = await revokeSessions(
      deps.db,
      all ? { userId: c.var.userId } : { sessionId: c.var.sessionId },
      all ? 'logout_all' : 'logout',
    );
    auth.authenticator.noteRevoked([...revoked, c.var.sessionId]);
    return c.body(null, 204);
  };

export const getJwks =
  (auth: AuthServices): RouteHandler<typeof jwksRoute, AppEnv> =>
  async (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.json(auth.verifying.jwks as never, 200);
  };
