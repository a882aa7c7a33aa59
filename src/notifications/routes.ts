import { createRoute, z } from '@hono/zod-openapi';
import { NOTIFICATION_KINDS } from '../domain/kinds.js';
import { NextCursor, PaginationQuery, dateTime, decimalInteger, jsonResponse, problems, security, uuid } from '../http/openapi.js';

export const NotificationSchema = z
  .object({
    id: z.number().int().openapi({ example: 7 }),
    order_id: uuid().nullable().openapi({ description: 'The order it is about.' }),
    kind: z.enum(NOTIFICATION_KINDS).openapi({ example: 'order_matched' }),
    message: z.string().openapi({ example: 'A neighbour joined your order at 교촌치킨 전북대점.' }),
    read_at: dateTime().nullable().openapi({ description: 'When it was first marked read; null while unread.' }),
    created_at: dateTime(),
  })
  .openapi('Notification', { description: 'Something that happened to one of your orders.' });

const NotificationPageSchema = z
  .object({ items: z.array(NotificationSchema), next_cursor: NextCursor })
  .openapi('NotificationPage', { description: 'A page of notifications, newest first.' });

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
      unread: z.enum(['true', 'false']).optional().openapi({ description: 'Only unread ones when true.', example: 'true' }),
    }),
  },
  responses: {
    200: jsonResponse('A page of notifications.', NotificationPageSchema),
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
      notificationId: decimalInteger(
        z
          .number()
          .int()
          .min(1)
          .max(2 ** 53 - 1),
      ).openapi({ param: { name: 'notificationId', in: 'path', description: "The notification's id." }, example: 7 }),
    }),
  },
  responses: {
    200: jsonResponse('The notification, with its read time.', NotificationSchema),
    ...problems(400, 401, 404, 409, 413, 415),
  },
});
