import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { Notification } from '../db/schema.js';

export function listNotifications(db: Db, userId: string, q: { unreadOnly: boolean; beforeId?: number; limit: number }): Promise<Notification[]> {
  let query = db.selectFrom('notifications').selectAll().where('user_id', '=', userId);
  if (q.unreadOnly) query = query.where('read_at', 'is', null);
  if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
  return query.orderBy('id', 'desc').limit(q.limit + 1).execute();
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
