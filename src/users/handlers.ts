import type { RouteHandler } from '@hono/zod-openapi';
import { z } from '@hono/zod-openapi';
import type { User } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import type { Deps } from '../http/deps.js';
import type { AppEnv } from '../http/env.js';
import { etagOf, notModified, preconditionFailed, requireIfMatch } from '../http/etag.js';
import { runAction } from '../idempotency/run-action.js';
import { presentLedgerEntry, presentUser } from './present.js';
import { balanceOf, findUser, listLedger, moveCredit, updateAddress } from './repository.js';
import type { getLedgerRoute, getMeRoute, putAddressRoute, topUpRoute } from './routes.js';

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

export const topUp =
  (deps: Deps): RouteHandler<typeof topUpRoute, AppEnv> =>
  async (c) => {
    const { amount } = c.req.valid('json');
    const cap = deps.config.WALLET_BALANCE_CAP_KRW;
    return runAction(c, deps.db, { keyRequired: true, body: { amount } }, async (tx) => {
      // A credit never takes the balance below zero, and the user exists (requireAuth): it moves
      // unless it would pass the cap. The cap is checked by the UPDATE that credits, so of two
      // concurrent top-ups the second is checked against the balance the first left.
      const entry = await moveCredit(tx, { userId: c.var.userId, amount, kind: 'top_up', cap });
      if (!entry) {
        const balance = await balanceOf(tx, c.var.userId);
        throw new DomainError(
          'balance_limit_exceeded',
          `Your balance is ${balance} KRW and may not pass ${cap} KRW: top up at most ${Math.max(0, cap - balance)} KRW.`,
        );
      }
      return { status: 201 as const, body: { credit: entry.balance_after, entry: presentLedgerEntry(entry) }, headers: {} };
    });
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
