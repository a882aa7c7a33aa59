import type { Db } from '../db/database.js';
import { completeOrder } from '../orders/complete.js';
import { lockDeliveredOrders } from '../orders/repository.js';

/**
 * Completes matched orders whose store's delivery time has passed since matching, through the
 * same code path as POST /orders/{id}/complete; safe on every instance at once (SKIP LOCKED).
 */
export async function runOnce(db: Db, batchSize: number): Promise<{ completed: number }> {
  let completed = 0;
  for (;;) {
    const done = await db.transaction().execute(async (tx) => {
      const due = await lockDeliveredOrders(tx, batchSize);
      for (const order of due) {
        await completeOrder(tx, { kind: 'system' }, order.id, { any: false, versions: [order.version] });
      }
      return due.length;
    });
    completed += done;
    if (done < batchSize) return { completed };
  }
}
