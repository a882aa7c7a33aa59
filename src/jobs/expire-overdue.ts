import type { Db } from '../db/database.js';
import { expireOrders } from '../orders/expire.js';
import { lockOverdueOrders } from '../orders/repository.js';

/**
 * Expires every pending order past expires_at, refunding creators, through the same code path
 * as POST /orders/{id}/expire (expireOrders), a batch at a time: a handful of set-based statements
 * per batch, not a few per order. Batches are locked with SKIP LOCKED, so any number of instances
 * can run this at once without touching the same order twice — and so can `concurrency` loops in
 * this one, each on its own connection and its own share of the creators (so they never wait for
 * each other), to keep more than one core of the database busy. The refunds lock the creators'
 * rows in id order, so sweepers whose batches share creators wait instead of deadlocking.
 */
export async function runOnce(db: Db, batchSize: number, concurrency = 1): Promise<{ expired: number }> {
  const loop = async (index: number) => {
    let expired = 0;
    for (;;) {
      const [due, done] = await db.transaction().execute(async (tx) => {
        const locked = await lockOverdueOrders(tx, batchSize, { index, of: concurrency });
        const orders = await expireOrders(
          tx,
          locked.map((order) => ({ id: order.id, condition: { any: false, versions: [order.version] } })),
        );
        return [locked.length, orders.length] as const;
      });
      expired += done;
      if (due < batchSize) return expired;
    }
  };
  const counts = await Promise.all(Array.from({ length: concurrency }, (_, index) => loop(index)));
  return { expired: counts.reduce((sum, n) => sum + n, 0) };
}
