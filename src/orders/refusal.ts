import type { Tx } from '../db/database.js';
import type { Order } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import { mayAct, whyNot, type Actor, type OrderAction } from '../domain/order-state.js';
import { versionMatches, type VersionCondition } from '../domain/versions.js';
import { etagOf } from '../http/etag.js';
import { presentOrderFor } from './present.js';
import { loadOrder } from './repository.js';

/**
 * A compare-and-set changed no row: one read says why, in this order — unknown (404), what the
 * action itself rules out (`ruledOut`, e.g. joining your own order: 422), not yours (403), version
 * moved (412 with the current order, as the actor may see it), wrong state or clock (409).
 */
export async function explainRefusal(
  tx: Tx,
  action: OrderAction,
  orderId: string,
  condition: VersionCondition,
  actor: Actor,
  ruledOut?: (current: Order) => DomainError | undefined,
): Promise<DomainError> {
  const viewerId = actor.kind === 'user' ? actor.userId : null;
  const current = await loadOrder(tx, orderId, viewerId);
  if (!current) return new DomainError('not_found', `No order ${orderId}.`);
  const impossible = ruledOut?.(current);
  if (impossible) return impossible;
  if (!mayAct(action, actor, current)) {
    return new DomainError('forbidden', action === 'cancel' ? 'Only the creator may cancel an order.' : 'Only a participant may complete an order.');
  }
  if (!versionMatches(condition, current.version)) {
    return new DomainError(
      'precondition_failed',
      `The order is now at ${etagOf(current.version)} (status ${current.status}); re-read it and decide again.`,
      // Who lost a race to join sees the order as any neighbour would: they are not its joiner.
      { current: presentOrderFor(current, viewerId, current.viewer_distance_m) },
      { ETag: etagOf(current.version) },
    );
  }
  return (
    whyNot(action, { status: current.status, expiresAt: current.expires_at }, current.read_at) ??
    // The row changed between the update and this read: nothing happened, a retry will tell.
    new DomainError('request_in_progress', 'The order changed while this request ran; retry.')
  );
}
