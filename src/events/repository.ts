import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { Selectable } from 'kysely';
import type { OrderEventsTable } from '../db/schema.js';
import type { Position } from './position.js';

/** One row of the log (an order's change, or a refund, for one recipient), its position as text. */
export type EventRow = Omit<Selectable<OrderEventsTable>, 'id'> & Position;

export type Audience = { userId: string } | { storeId: string };

// Rows whose transaction is older than every transaction still running: nothing can commit
// before them any more, so a reader that has read up to one of them has missed nothing.
const SETTLED = sql`e.xid < pg_snapshot_xmin(pg_current_snapshot())`;
// Positions leave as text (xid8 and bigint exceed a JS number); they are compared and sorted as
// the columns themselves (e.xid): an ORDER BY of the text aliases would sort 999 after 1000.
const COLUMNS = sql`e.xid::text AS xid, e.id::text AS id, user_id, store_id, kind, order_id, status, version, amount, at`;

/** The position of the newest settled row: where a stream that wants only what comes next starts. */
export async function settledHead(db: Db): Promise<Position> {
  const { rows } = await sql<Position>`
    SELECT e.xid::text AS xid, e.id::text AS id FROM order_events e WHERE ${SETTLED} ORDER BY e.xid DESC, e.id DESC LIMIT 1`.execute(db);
  return rows[0] ?? { xid: '0', id: '0' };
}

/** Settled rows after `after`, for every recipient, in position order: what an instance's reader fans out. */
export async function settledEventsAfter(db: Db, after: Position, limit: number): Promise<EventRow[]> {
  const { rows } = await sql<EventRow>`
    SELECT ${COLUMNS} FROM order_events e
    WHERE (e.xid, e.id) > (${after.xid}::xid8, ${after.id}::bigint) AND ${SETTLED}
    ORDER BY e.xid, e.id LIMIT ${limit}`.execute(db);
  return rows;
}

/** Settled rows of one recipient after `after`, in position order: a resume's replay. */
export async function settledEventsOf(db: Db, audience: Audience, after: Position, limit: number): Promise<EventRow[]> {
  const recipient = 'userId' in audience ? sql`user_id = ${audience.userId}::uuid` : sql`store_id = ${audience.storeId}::uuid`;
  const { rows } = await sql<EventRow>`
    SELECT ${COLUMNS} FROM order_events e
    WHERE ${recipient} AND (e.xid, e.id) > (${after.xid}::xid8, ${after.id}::bigint) AND ${SETTLED}
    ORDER BY e.xid, e.id LIMIT ${limit}`.execute(db);
  return rows;
}

/** Deletes rows older than the retention, a batch at a time; returns how many went. */
export async function purgeOldEvents(db: Db, retentionHours: number, batchSize: number): Promise<number> {
  const result = await sql`
    DELETE FROM order_events WHERE (xid, id) IN (
      SELECT xid, id FROM order_events WHERE at < now() - make_interval(hours => ${retentionHours}) LIMIT ${batchSize})`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

export async function insertTicket(
  db: Db,
  ticket: { hash: Uint8Array; userId: string; sessionId: string; credentialExpiresAt: Date; validSeconds: number },
): Promise<Date> {
  const { rows } = await sql<{ expires_at: Date }>`
    INSERT INTO event_tickets (ticket_hash, user_id, session_id, credential_expires_at, expires_at)
    VALUES (${ticket.hash}, ${ticket.userId}, ${ticket.sessionId}, ${ticket.credentialExpiresAt},
            now() + make_interval(secs => ${ticket.validSeconds}))
    RETURNING expires_at`.execute(db);
  return rows[0].expires_at;
}

/**
 * Spends a ticket: once, before it expires, while its session stands. One statement, so two
 * instances handed the same ticket cannot both open a stream with it.
 */
export async function redeemTicket(
  db: Db,
  hash: Uint8Array,
): Promise<{ user_id: string; session_id: string; credential_expires_at: Date } | undefined> {
  const { rows } = await sql<{ user_id: string; session_id: string; credential_expires_at: Date }>`
    UPDATE event_tickets t SET used_at = now()
    FROM sessions s
    WHERE t.ticket_hash = ${hash} AND t.used_at IS NULL AND t.expires_at > now()
      AND s.id = t.session_id AND s.revoked_at IS NULL
    RETURNING t.user_id, t.session_id, t.credential_expires_at`.execute(db);
  return rows[0];
}

/** Forgets tickets past their minute (used or not). */
export async function purgeExpiredTickets(db: Db): Promise<number> {
  const result = await sql`DELETE FROM event_tickets WHERE expires_at < now() - interval '1 minute'`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
