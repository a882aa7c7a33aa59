import type { Db } from '../db/database.js';
import { purgeExpiredKeys } from '../idempotency/repository.js';

/** Deletes Idempotency-Keys older than the retention, in batches; returns how many went. */
export async function runOnce(db: Db, retentionHours: number, batchSize: number): Promise<{ purged: number }> {
  let purged = 0;
  for (;;) {
    const done = await purgeExpiredKeys(db, retentionHours, batchSize);
    purged += done;
    if (done < batchSize) return { purged };
  }
}
