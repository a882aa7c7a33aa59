import { createRoute, z } from '@hono/zod-openapi';
import { DEFAULTS } from '../config.js';
import { EVENT_KINDS, ORDER_STATUSES } from '../domain/kinds.js';
import { UuidParam, dateTime, headers, jsonResponse, problems, security, streamSecurity, uuid } from '../http/openapi.js';
import { END_REASONS, HEARTBEAT } from './hub.js';
import { POSITION_PATTERN, parsePosition } from './position.js';

export const TICKET_VALID_SECONDS = 60;
export const RETRY_ADVICE_MS = 3000;
/** A ticket is 32 random bytes, base64url. */
export const TICKET = /^[A-Za-z0-9_-]{43}$/;

export const OrderEventSchema = z
  .object({
    order_id: uuid(),
    status: z.enum(ORDER_STATUSES).openapi({ description: 'The order status after the change.', example: 'matched' }),
    version: z.number().int().min(1).openapi({ example: 2 }),
    etag: z.string().openapi({ description: "The order's ETag at this version: send it as If-Match to act on it.", example: '"v2"' }),
    amount: z
      .number()
      .int()
      .optional()
      .openapi({ description: '`order.refunded` only: the KRW that came back to your wallet.', example: 6500 }),
    at: dateTime(),
  })
  .openapi('OrderEvent', { description: 'The `data:` of every `order.*` event of an event stream (JSON).' });

export const StreamEndedSchema = z
  .object({
    reason: z.enum(END_REASONS).openapi({
      example: 'shutting_down',
      description:
        '`session_revoked`: signed out (do not reconnect with this session); `credential_expired`: the access token (or the one that got the ticket) ' +
        'expired, reconnect with a fresh one; `shutting_down`: this instance is stopping, reconnect (with Last-Event-ID) at once; ' +
        '`too_slow`: the client did not read what it was sent, reconnect and read; `unavailable`: the server could not read its log, reconnect shortly.',
    }),
  })
  .openapi('StreamEnded', { description: 'The `data:` of a `stream.ended` event, the last of a stream.' });

export const StreamOpenedSchema = z
  .object({
    resumed: z.boolean().openapi({ description: 'Whether the stream goes on from the Last-Event-ID you sent.', example: false }),
  })
  .openapi('StreamOpened', { description: 'The `data:` of `stream.opened`, the first event of a stream.' });

const eventId = z.string().openapi({ description: 'The `id:`: where to resume from (Last-Event-ID).', example: '7641-120' });

/**
 * One event of a stream, as its fields: the `event:` name, the `id:` and the `data:` (JSON). The
 * stream is text; this is the shape of each of its events (what OpenAPI 3.2 calls an itemSchema).
 */
export const StreamEventSchema = z
  .union([
    z
      .object({
        event: z.literal('stream.opened').openapi({ example: 'stream.opened' }),
        id: eventId,
        retry: z.number().int().openapi({ description: 'Milliseconds to wait before reconnecting.', example: 3000 }),
        data: StreamOpenedSchema,
      })
      .openapi('StreamOpenedEvent', { description: 'The first event of every stream.' }),
    z
      .object({ event: z.enum(EVENT_KINDS).openapi({ example: 'order.matched' }), id: eventId, data: OrderEventSchema })
      .openapi('OrderChangeEvent', { description: 'A change of an order (or a refund), in commit order.' }),
    z
      .object({ event: z.literal('stream.ended').openapi({ example: 'stream.ended' }), data: StreamEndedSchema })
      .openapi('StreamEndedEvent', { description: 'The last event of a stream the server ends; it has no id.' }),
  ])
  .openapi('StreamEvent', {
    description: 'One event of an event stream: its `event:`, `id:` (and `retry:`) fields and its `data:`, parsed.',
  });

const position = z
  .string()
  .regex(new RegExp(POSITION_PATTERN))
  .refine((text) => parsePosition(text) !== undefined, 'is not a position this service writes');

const StreamQuery = z.object({
  ticket: z
    .string()
    .regex(TICKET)
    .optional()
    .openapi({ description: 'A ticket from POST /users/me/events/tickets, instead of the Authorization header (browsers).' }),
  last_event_id: position.optional().openapi({
    description: 'Resume after this event (the `id:` of the last one you got); for clients that cannot send the Last-Event-ID header.',
    example: '7641-120',
  }),
});
const StreamHeaders = z.object({
  'last-event-id': position.optional().openapi({
    description: 'Resume after this event: what EventSource sends on reconnecting. Wins over `last_event_id`.',
    example: '7641-120',
  }),
});

const STREAM_TEXT =
  'The first event is `stream.opened` (data: StreamOpened), with an `id:` to resume from ' +
  'even if nothing happens before a disconnect. Then one event per change, named by its kind (`' +
  EVENT_KINDS.join('`, `') +
  '`; data: OrderEvent, JSON), in the order the changes committed, each with an `id:`. Send the last `id:` back as `Last-Event-ID` ' +
  '(or `last_event_id`) to get what you missed, from the log, and then the live events: none skipped, none repeated. ' +
  `A comment line (\`${HEARTBEAT}\`) comes every ${DEFAULTS.EVENTS_HEARTBEAT_SECONDS} s when nothing else does; \`retry:\` advises ` +
  `${RETRY_ADVICE_MS} ms before a reconnect. The log is kept ${DEFAULTS.EVENTS_RETENTION_HOURS} h by default: a client away longer re-reads ` +
  'its orders. A stream ends with `stream.ended` (data: StreamEnded) when its session is revoked, its credential expires, or the instance ' +
  'stops; a change reaches streams on every instance within about a second of its commit. ' +
  `At most ${DEFAULTS.EVENTS_MAX_STREAMS_PER_USER} streams of yours may be open on one server (by default): one more is a 429 \`too_many_streams\`; a server that holds all the streams it can answers 503 \`overloaded\`.`;

const streamResponse = (description: string) => ({
  description: `${description} A \`text/event-stream\` (server-sent events), as the operation describes.`,
  headers: headers.requestId,
  content: {
    'text/event-stream': { schema: StreamEventSchema },
  },
});

export const myEventsRoute = createRoute({
  method: 'get',
  path: '/users/me/events',
  operationId: 'streamMyEvents',
  tags: ['events'],
  summary: 'Live events of your orders',
  description:
    'What happens to the orders you take part in (as creator, joiner or their rider), and your refunds, as it happens: the stream that ' +
    'replaces polling GET /orders/{orderId}.\n\n' +
    STREAM_TEXT,
  security: streamSecurity,
  request: { query: StreamQuery, headers: StreamHeaders },
  responses: { 200: streamResponse('Your events.'), ...problems(400, 401) },
});

export const storeEventsRoute = createRoute({
  method: 'get',
  path: '/stores/{storeId}/events',
  operationId: 'streamStoreEvents',
  tags: ['store staff'],
  summary: "Live events of a store's queue",
  description:
    "For the store's staff: every change of the store's orders once they are in its queue (matched: a new order to answer), " +
    'their cancellations, acceptances, rejections, readiness, pick-ups and deliveries. Orders still waiting for a neighbour are not shown.\n\n' +
    STREAM_TEXT,
  security: streamSecurity,
  request: { params: UuidParam('storeId', 'The store.'), query: StreamQuery, headers: StreamHeaders },
  responses: { 200: streamResponse("The store's events."), ...problems(400, 401, 403) },
});

export const EventTicketSchema = z
  .object({
    ticket: z.string().openapi({ example: 'o2mV0V6m2XcP3mJ2b9mJ3tq7p0y7b8Xr3fVb1cO1qkE' }),
    expires_at: dateTime(),
  })
  .openapi('EventTicket', { description: `Pass as \`?ticket=\` to open one event stream within ${TICKET_VALID_SECONDS} s.` });

export const createTicketRoute = createRoute({
  method: 'post',
  path: '/users/me/events/tickets',
  operationId: 'createEventTicket',
  tags: ['events'],
  summary: 'A one-time ticket to open an event stream from a browser',
  description:
    "A browser's EventSource cannot send the Authorization header, and an access token must never stand in a URL. A ticket opens one " +
    `stream (of yours, or of a store you are staff of) within ${TICKET_VALID_SECONDS} s; the stream lasts no longer than the access token that got it.`,
  security,
  responses: { 200: jsonResponse('The ticket.', EventTicketSchema), ...problems(400, 401, 413) },
});
