import type { Tx } from '../db/database.js';
import type { NotificationKind, Order } from '../db/schema.js';
import { insertNotifications } from '../notifications/repository.js';

/** Tells both participants of each order what happened to it: one notification each, one statement. */
export async function tellParticipants(
  tx: Tx,
  orders: Pick<Order, 'id' | 'creator_id' | 'joiner_id'>[],
  kind: NotificationKind,
  message: string,
): Promise<void> {
  await insertNotifications(
    tx,
    orders.flatMap((order) =>
      [order.creator_id, order.joiner_id]
        .filter((id): id is string => id !== null)
        .map((userId) => ({ userId, orderId: order.id, kind, message })),
    ),
  );
}
