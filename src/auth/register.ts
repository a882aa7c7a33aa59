import { defineOpenAPIRoute as route } from '@hono/zod-openapi';
import type { Deps } from '../http/deps.js';
import { createDevToken, exchangeIdToken, finishOidcLogin, getJwks, logout, refresh, startOidcLogin } from './handlers.js';
import { devTokenRoute, jwksRoute, logoutRoute, oidcAuthorizeRoute, oidcCallbackRoute, oidcTokenRoute, refreshRoute } from './routes.js';
import type { AuthServices } from './services.js';

export const authRoutes = (deps: Deps, auth: AuthServices) => [
  route({ route: devTokenRoute, handler: createDevToken(deps, auth) }),
  route({ route: oidcAuthorizeRoute, handler: startOidcLogin(deps, auth) }),
  route({ route: oidcCallbackRoute, handler: finishOidcLogin(deps, auth) }),
  route({ route: oidcTokenRoute, handler: exchangeIdToken(deps, auth) }),
  route({ route: refreshRoute, handler: refresh(deps, auth) }),
  route({ route: logoutRoute, handler: logout(deps, auth) }),
  route({ route: jwksRoute, handler: getJwks(auth) }),
];
