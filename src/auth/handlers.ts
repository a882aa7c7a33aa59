import type { RouteHandler } from '@hono/zod-openapi';
import { DomainError } from '../domain/errors.js';
import type { Deps } from '../http/deps.js';
import type { AppEnv } from '../http/env.js';
import { presentUser } from '../users/present.js';
import { grantDevRoles } from '../roles/repository.js';
import { findOrCreateUser } from '../users/repository.js';
import type { devTokenRoute } from './routes.js';

export const createDevToken =
  (deps: Deps): RouteHandler<typeof devTokenRoute, AppEnv> =>
  async (c) => {
    if (!deps.config.AUTH_DEV_LOGIN) {
      throw new DomainError('dev_login_disabled', 'Development login is disabled on this server.');
    }
    const { email, name, ...roles } = c.req.valid('json');
    const user = await deps.db.transaction().execute(async (tx) => {
      const found = await findOrCreateUser(tx, email, name, deps.config.SIGNUP_GRANT_KRW);
      await grantDevRoles(tx, found.id, roles);
      return found;
    });
    const { token, expiresIn } = await deps.signer.issue(user.id);
    return c.json({ access_token: token, token_type: 'Bearer' as const, expires_in: expiresIn, user: presentUser(user) }, 200);
  };
