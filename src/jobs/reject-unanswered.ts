import type { Db } from '../db/database.js';
import { rejectUnansweredOrders } from '../orders/reject.js';
import { lockUnansweredOrders } from '../orders/repository.js';

/**
 * Rejects every matched order its store has not answered by accept_by, refunding both
 * participants, through the reject row and the same refunds as POST /orders/{id}/reject, a batch
 * at a time in a few set-based statements. Batches are locked with SKIP LOCKED, so every instance
 * may run this at once; an accept racing it is decided by the order row: the compare-and-sets of
 * both check the state and the deadline, so exactly one of them changes it.
 */
export async function runOnce(db: Db, batchSize: number): Promise<{ rejected: number }> {
  let rejected = 0;
  for (;;) {
    const [due, done] = await db.transaction().execute(async (tx) => {
      const locked = await lockUnansweredOrders(tx, batchSize);
      const orders = await rejectUnansweredOrders(
        tx,
        locked.map((order) => ({ id: order.id, condition: { any: false, versions: [order.version] } })),
      );
      return [locked.length, orders.length] as const;
    });
    rejected += done;
    if (due < batchSize) return { rejected };
  }
}
