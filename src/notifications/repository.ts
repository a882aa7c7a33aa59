import { sql, type RawBuilder } from 'kysely';
import type { Db, Tx } from '../db/database.js';
import type { Notification, NotificationKind } from '../db/schema.js';

export interface NoteToSend {
  userId: string;
  orderId: string;
  kind: NotificationKind;
  message: string;
}

/**
 * The INSERT of `notes` into notifications, as a statement or a CTE: arrays, not a VALUES list, so
 * one statement text (prepared once per connection) serves any count. `onlyIf` makes it conditional.
 */
export function insertNotificationsSql(notes: NoteToSend[], onlyIf: RawBuilder<unknown> = sql`true`): RawBuilder<unknown> {
  return sql`
    INSERT INTO notifications (user_id, order_id, kind, message)
    SELECT * FROM unnest(${notes.map((n) => n.userId)}::uuid[], ${notes.map((n) => n.orderId)}::uuid[],
                         ${notes.map((n) => n.kind)}::text[], ${notes.map((n) => n.message)}::text[])
    WHERE ${onlyIf}`;
}

export async function insertNotifications(tx: Tx, notes: NoteToSend[]): Promise<void> {
  if (notes.length > 0) await insertNotificationsSql(notes).execute(tx);
}

export function listNotifications(
  db: Db,
  userId: string,
  q: { unreadOnly: boolean; beforeId?: number; limit: number },
): Promise<Notification[]> {
  let query = db.selectFrom('notifications').selectAll().where('user_id', '=', userId);
  if (q.unreadOnly) query = query.where('read_at', 'is', null);
  if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
  return query
    .orderBy('id', 'desc')
    .limit(q.limit + 1)
    .execute();
}

/** Marks one of the user's notifications read (keeping the first read time). */
export function markRead(db: Db, userId: string, id: number): Promise<Notification | undefined> {
  return db
    .updateTable('notifications')
    .set({ read_at: sql<Date>`coalesce(read_at, now())` })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .returningAll()
    .executeTakeFirst();
}
