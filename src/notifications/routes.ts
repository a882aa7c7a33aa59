import { createRoute, z } from '@hono/zod-openapi';
import { NextCursor, PaginationQuery, problems, security } from '../http/openapi.js';

export const NotificationSchema = z
  .object({
    id: z.number().int(),
    order_id: z.string().uuid().nullable(),
    kind: z.enum(['order_matched', 'order_expired', 'order_cancelled', 'order_completed']),
    message: z.string(),
    read_at: z.string().datetime().nullable(),
    created_at: z.string().datetime(),
  })
  .openapi('Notification');

const NotificationPageSchema = z
  .object({ items: z.array(NotificationSchema), next_cursor: NextCursor })
  .openapi('NotificationPage');

export const listNotificationsRoute = createRoute({
  method: 'get',
  path: '/users/me/notifications',
  operationId: 'listMyNotifications',
  tags: ['notifications'],
  summary: 'Your notifications, newest first',
  description: 'Written in the same transaction as the order change they report: matched, expired, cancelled, completed.',
  security,
  request: {
    query: PaginationQuery.extend({
      unread: z.enum(['true', 'false']).optional().openapi({ description: 'Only unread ones when true.' }),
    }),
  },
  responses: {
    200: { description: 'A page of notifications.', content: { 'application/json': { schema: NotificationPageSchema } } },
    ...problems(400, 401),
  },
});

export const markNotificationReadRoute = createRoute({
  method: 'post',
  path: '/users/me/notifications/{notificationId}/read',
  operationId: 'markNotificationRead',
  tags: ['notifications'],
  summary: 'Mark a notification read',
  description: 'Idempotent: marking it again keeps the first read time.',
  security,
  request: {
    params: z.object({
      notificationId: z.coerce.number().int().min(1).max(2 ** 53 - 1).openapi({ param: { name: 'notificationId', in: 'path' }, example: 1 }),
    }),
  },
  responses: {
    200: { description: 'The notification.', content: { 'application/json': { schema: NotificationSchema } } },
    ...problems(400, 401, 404),
  },
});
