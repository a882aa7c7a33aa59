import type { RouteHandler } from '@hono/zod-openapi';
import { z } from '@hono/zod-openapi';
import { DomainError } from '../domain/errors.js';
import type { Deps } from '../http/deps.js';
import type { AppEnv } from '../http/env.js';
import { runAction, runPhasedAction } from '../idempotency/run-action.js';
import { presentTopUp } from './present.js';
import { endedUncaptured } from './provider.js';
import { createDemoTopUp, createTopUp, findUsersTopUp, listUsersTopUps } from './repository.js';
import type { confirmTopUpRoute, createTopUpRoute, getTopUpRoute, listTopUpsRoute, paymentWebhookRoute } from './routes.js';
import { confirmTopUp, refuseOverCap, settle, type Payments } from './service.js';

export const postTopUp =
  (deps: Deps, payments: Payments): RouteHandler<typeof createTopUpRoute, AppEnv> =>
  async (c) => {
    const { amount } = c.req.valid('json');
    return runAction(c, deps.db, { keyRequired: true, body: { amount } }, async (tx) => {
      await refuseOverCap(tx, c.var.userId, amount, payments.balanceCap);
      const made = payments.provider
        ? { topUp: await createTopUp(tx, c.var.userId, amount), entry: undefined }
        : await createDemoTopUp(tx, c.var.userId, amount);
      return { status: 201 as const, body: presentTopUp(made), headers: { Location: `/users/me/credit/top-ups/${made.topUp.id}` } };
    });
  };

export const postConfirmTopUp =
  (payments: Payments): RouteHandler<typeof confirmTopUpRoute, AppEnv> =>
  async (c) => {
    const { topUpId } = c.req.valid('param');
    const { payment_key } = c.req.valid('json');
    return runPhasedAction(c, payments.db, { body: { payment_key } }, async () => {
      const result = await confirmTopUp(payments, c.var.userId, topUpId, payment_key);
      const body = presentTopUp(result);
      if (result.topUp.status === 'failed') {
        throw new DomainError('payment_declined', `The payment was not captured: ${body.failure?.message ?? 'declined'}`, { top_up: body });
      }
      if (result.topUp.status === 'succeeded') return { status: 200 as const, body, headers: {}, settled: true };
      return { status: 202 as const, body, headers: {}, settled: false };
    });
  };

export const getTopUp =
  (deps: Deps): RouteHandler<typeof getTopUpRoute, AppEnv> =>
  async (c) => {
    const { topUpId } = c.req.valid('param');
    const found = await findUsersTopUp(deps.db, c.var.userId, topUpId);
    if (!found) throw new DomainError('not_found', `No top-up ${topUpId}.`);
    return c.json(presentTopUp(found), 200);
  };

const TopUpCursor = z.object({ id: z.string().uuid() });

export const listTopUps =
  (deps: Deps): RouteHandler<typeof listTopUpsRoute, AppEnv> =>
  async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const after = deps.cursors.decode(cursor, TopUpCursor);
    const rows = await listUsersTopUps(deps.db, c.var.userId, after?.id, limit);
    const result = deps.cursors.page(rows, limit, (row) => ({ id: row.topUp.id }));
    return c.json({ items: result.items.map(presentTopUp), next_cursor: result.next_cursor }, 200);
  };

const UUID = z.string().uuid();

/** Signed already (requirePaymentSignature): settles what the provider says, once; the rest is acknowledged. */
export const postPaymentWebhook =
  (payments: Payments): RouteHandler<typeof paymentWebhookRoute, AppEnv> =>
  async (c) => {
    const { eventType, data } = c.req.valid('json');
    const known = eventType === 'PAYMENT_STATUS_CHANGED' && UUID.safeParse(data.orderId).success;
    if (known && data.status === 'DONE') {
      await settle(payments, data.orderId, { kind: 'done', paymentKey: data.paymentKey, totalAmount: data.totalAmount }, 'webhook');
    } else if (known && endedUncaptured(data.status)) {
      await settle(payments, data.orderId, { kind: 'ended', status: data.status }, 'webhook');
    }
    return c.json({ received: true as const }, 200);
  };
