import type { RouteHandler } from '@hono/zod-openapi';
import { z } from '@hono/zod-openapi';
import type { Notification } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import type { Deps } from '../http/deps.js';
import type { AppEnv } from '../http/env.js';
import { listNotifications, markRead } from './repository.js';
import { listNotificationsRoute, markNotificationReadRoute } from './routes.js';

const present = (n: Notification) => ({
  id: n.id,
  order_id: n.order_id,
  kind: n.kind,
  message: n.message,
  read_at: n.read_at ? n.read_at.toISOString() : null,
  created_at: n.created_at.toISOString(),
});

const Cursor = z.object({ id: z.number().int() });

export const listMine =
  (deps: Deps): RouteHandler<typeof listNotificationsRoute, AppEnv> =>
  async (c) => {
    const { unread, limit, cursor } = c.req.valid('query');
    const rows = await listNotifications(deps.db, c.var.userId, {
      unreadOnly: unread === 'true',
      beforeId: deps.cursors.decode(cursor, Cursor)?.id,
      limit,
    });
    const result = deps.cursors.page(rows, limit, (n) => ({ id: n.id }));
    return c.json({ items: result.items.map(present), next_cursor: result.next_cursor }, 200);
  };

export const markOneRead =
  (deps: Deps): RouteHandler<typeof markNotificationReadRoute, AppEnv> =>
  async (c) => {
    const { notificationId } = c.req.valid('param');
    const updated = await markRead(deps.db, c.var.userId, notificationId);
    if (!updated) throw new DomainError('not_found', `No notification ${notificationId} of yours.`);
    return c.json(present(updated), 200);
  };
