import type { Tx } from '../db/database.js';
import type { Order } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import { mayAct, needsRoles, notYours, whyNot, type Actor, type OrderAction } from '../domain/order-state.js';
import { versionMatches, type VersionCondition } from '../domain/versions.js';
import { preconditionFailed } from '../http/etag.js';
import { rolesOf } from '../roles/repository.js';
import { presentOrderFor } from './present.js';
import { loadOrder } from './repository.js';

/**
 * A compare-and-set changed no row: one read says why, in this order — unknown (404), what the
 * action itself rules out (`ruledOut`, e.g. joining your own order: 422), not yours (403, the
 * row's who), version moved (412 with the current order, as the actor may see it), wrong state or
 * clock (409, the row's from and clock).
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
  // Store and rider actions ask for roles: read only here, on a refusal.
  const who = actor.kind === 'user' && needsRoles(action) ? { ...actor, roles: await rolesOf(tx, actor.userId) } : actor;
  if (!mayAct(action, who, current)) return notYours(action, current.status);
  if (!versionMatches(condition, current.version)) {
    // Who lost a race to join sees the order as any neighbour would: they are not its joiner.
    return preconditionFailed(
      'order',
      current.version,
      presentOrderFor(current, viewerId, current.viewer_distance_m, current.viewer_is_staff),
      `status ${current.status}`,
    );
  }
  return (
    whyNot(action, { status: current.status, expiresAt: current.expires_at, acceptBy: current.accept_by }, current.read_at) ??
    // The row changed between the update and this read: nothing happened, a retry will tell.
    new DomainError('request_in_progress', 'The order changed while this request ran; retry.')
  );
}
