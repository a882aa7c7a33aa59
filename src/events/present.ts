import { etagOf } from '../http/etag.js';
import { formatPosition } from './position.js';
import type { EventRow } from './repository.js';

/** A row of the log as its SSE message: named by kind, with its position as the id. */
export function presentEvent(row: EventRow): { event: string; id: string; data: string } {
  return {
    event: row.kind,
    id: formatPosition(row),
    data: JSON.stringify({
      order_id: row.order_id,
      status: row.status,
      version: row.version,
      etag: etagOf(row.version),
      ...(row.amount === null ? {} : { amount: row.amount }),
      at: row.at.toISOString(),
    }),
  };
}
