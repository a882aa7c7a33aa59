import { defineOpenAPIRoute as route } from '@hono/zod-openapi';
import type { Deps } from '../http/deps.js';
import { getTopUp, listTopUps, postConfirmTopUp, postPaymentWebhook, postTopUp } from './handlers.js';
import { confirmTopUpRoute, createTopUpRoute, getTopUpRoute, listTopUpsRoute, paymentWebhookRoute } from './routes.js';
import { paymentProviderOf, type Payments } from './service.js';
import { requirePaymentSignature } from './webhook.js';

export function paymentsOf(deps: Pick<Deps, 'config' | 'db' | 'logger' | 'metrics'>): Payments {
  return {
    db: deps.db,
    provider: paymentProviderOf(deps.config),
    logger: deps.logger,
    metrics: deps.metrics,
    settleAfterSeconds: deps.config.PAYMENTS_SETTLE_AFTER_SECONDS,
    balanceCap: deps.config.WALLET_BALANCE_CAP_KRW,
  };
}

/**
 * The webhook is served like every route, but documented as a webhook of the API document (the
 * provider calls it, not clients): hidden from `paths`, registered under `webhooks` by app.ts.
 * Its signature is checked before its body is validated.
 */
export const paymentWebhookContract = paymentWebhookRoute;

export const paymentRoutes = (deps: Deps) => {
  const payments = paymentsOf(deps);
  return [
    route({ route: createTopUpRoute, handler: postTopUp(deps, payments) }),
    route({ route: listTopUpsRoute, handler: listTopUps(deps) }),
    route({ route: getTopUpRoute, handler: getTopUp(deps) }),
    route({ route: confirmTopUpRoute, handler: postConfirmTopUp(payments) }),
    route({
      route: { ...paymentWebhookRoute, hide: true, middleware: requirePaymentSignature(deps.config.PAYMENTS_WEBHOOK_SECRET) },
      handler: postPaymentWebhook(payments),
    }),
  ];
};
