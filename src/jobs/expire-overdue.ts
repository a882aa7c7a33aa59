import type { Db } from '../db/database.js';
import { expireOrder } from '../orders/expire.js';
import { lockDueOrders } from '../orders/repository.js';

/**
 * Expires every pending order past expires_at, refunding creators, through the same code path
 * as POST /orders/{id}/expire. Batches are locked with SKIP LOCKED, so any number of instances
 * can run this at once without touching the same order twice.
 */
export async function runOnce(db: Db, batchSize: number): Promise<{ expired: number }> {
  let expired = 0;
  for (;;) {
    const done = await db.transaction().execute(async (tx) => {
      const due = await lockDueOrders(tx, 'overdue', batchSize);
      // Each refund locks its creator's row: take them in one global order (creator id), or two
      // sweepers whose batches hold orders of the same creators deadlock on those rows.
      due.sort((a, b) => (a.creator_id < b.creator_id ? -1 : a.creator_id > b.creator_id ? 1 : 0));
      for (const order of due) {
        await expireOrder(tx, { kind: 'system' }, order.id, { any: false, versions: [order.version] });
      }
      return due.length;
    });
    expired += done;
    if (done < batchSize) return { expired };
  }
}
