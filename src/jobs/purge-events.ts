import type { Db } from '../db/database.js';
import { purgeExpiredTickets, purgeOldEvents } from '../events/repository.js';

/** Forgets the live-status log past its retention, in batches, and the tickets past their minute. */
export async function runOnce(db: Db, retentionHours: number, batchSize: number): Promise<{ events: number; tickets: number }> {
  let events = 0;
  for (;;) {
    const done = await purgeOldEvents(db, retentionHours, batchSize);
    events += done;
    if (done < batchSize) break;
  }
  return { events, tickets: await purgeExpiredTickets(db) };
}
