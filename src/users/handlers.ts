import type { RouteHandler } from '@hono/zod-openapi';
import { z } from '@hono/zod-openapi';
import type { User } from '../db/schema.js';
import type { Deps } from '../http/deps.js';
import type { AppEnv } from '../http/env.js';
import { etagOf, notModified, preconditionFailed, requireIfMatch } from '../http/etag.js';
import { presentLedgerEntry, presentUser } from './present.js';
import { findUser, listLedger, updateAddress } from './repository.js';
import type { getLedgerRoute, getMeRoute, putAddressRoute } from './routes.js';

/** The caller: requireAuth admits only a token of an existing user, and users are never deleted. */
async function signedInUser(deps: Deps, userId: string): Promise<User> {
  return (await findUser(deps.db, userId))!;
}

export const getMe =
  (deps: Deps): RouteHandler<typeof getMeRoute, AppEnv> =>
  async (c) => {
    const user = await signedInUser(deps, c.var.userId);
    c.header('ETag', etagOf(user.version));
    if (notModified(c, user.version)) return c.body(null, 304);
    return c.json(presentUser(user), 200);
  };

export const putAddress =
  (deps: Deps): RouteHandler<typeof putAddressRoute, AppEnv> =>
  async (c) => {
    const condition = requireIfMatch(c);
    const input = c.req.valid('json');
    const updated = await deps.db.transaction().execute((tx) => updateAddress(tx, c.var.userId, condition, input));
    if (!updated) {
      const current = await signedInUser(deps, c.var.userId);
      throw preconditionFailed('user', current.version, presentUser(current));
    }
    c.header('ETag', etagOf(updated.version));
    return c.json(presentUser(updated), 200);
  };

const LedgerCursor = z.object({ id: z.number().int() });

export const getLedger =
  (deps: Deps): RouteHandler<typeof getLedgerRoute, AppEnv> =>
  async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const after = deps.cursors.decode(cursor, LedgerCursor);
    const rows = await listLedger(deps.db, c.var.userId, after?.id, limit);
    const result = deps.cursors.page(rows, limit, (row) => ({ id: row.id }));
    return c.json({ items: result.items.map(presentLedgerEntry), next_cursor: result.next_cursor }, 200);
  };
