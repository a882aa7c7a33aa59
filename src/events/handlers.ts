import type { RouteHandler } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { streamSSE } from 'hono/streaming';
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import type { Deps } from '../http/deps.js';
import type { AppEnv } from '../http/env.js';
import { isStaffOf } from '../roles/repository.js';
import { Subscription, type EventHub } from './hub.js';
import { formatPosition, isAfter, parsePosition } from './position.js';
import { insertTicket, redeemTicket, settledHead, type Audience } from './repository.js';
import { RETRY_ADVICE_MS, TICKET, TICKET_VALID_SECONDS, createTicketRoute, myEventsRoute, storeEventsRoute } from './routes.js';

const hashOf = (ticket: string) => new Uint8Array(createHash('sha256').update(ticket).digest());

/**
 * The event streams' authentication: the bearer token as everywhere, or, with no Authorization
 * header, a ticket (spent here, once). Either way the stream may last until the credential's end.
 */
export function authenticateStream(db: Db, bearer: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const ticket = c.req.query('ticket');
    if (c.req.header('Authorization') !== undefined || ticket === undefined) return bearer(c, next);
    const redeemed = TICKET.test(ticket) ? await redeemTicket(db, hashOf(ticket)) : undefined;
    if (!redeemed)
      throw new DomainError('ticket_invalid', 'The ticket is unknown, used, expired, or its session was signed out: get a new one.');
    c.set('userId', redeemed.user_id);
    c.set('sessionId', redeemed.session_id);
    c.set('credentialExpiresAtMs', redeemed.credential_expires_at.getTime());
    await next();
  };
}

export const createTicket =
  (deps: Deps): RouteHandler<typeof createTicketRoute, AppEnv> =>
  async (c) => {
    const ticket = randomBytes(32).toString('base64url');
    const expiresAt = await insertTicket(deps.db, {
      hash: hashOf(ticket),
      userId: c.var.userId,
      sessionId: c.var.sessionId,
      credentialExpiresAt: new Date(c.var.credentialExpiresAtMs),
      validSeconds: TICKET_VALID_SECONDS,
    });
    return c.json({ ticket, expires_at: expiresAt.toISOString() }, 200);
  };

/**
 * Opens a stream for `audience`: from the client's Last-Event-ID when it sent one (a position
 * past what has settled cannot have been sent, so it starts from now), else from now.
 */
async function openStream(deps: Deps, hub: EventHub, c: Context<AppEnv>, audience: Audience, lastEventId: string | undefined) {
  const userId = c.var.userId;
  if (hub.size >= deps.config.EVENTS_MAX_STREAMS) {
    throw new DomainError('overloaded', 'This server holds as many event streams as it can: retry shortly, another may have room.');
  }
  if (hub.streamsOf(userId) >= deps.config.EVENTS_MAX_STREAMS_PER_USER) {
    throw new DomainError(
      'too_many_streams',
      `You have ${deps.config.EVENTS_MAX_STREAMS_PER_USER} event streams open here: close one first.`,
    );
  }
  const head = await settledHead(deps.db);
  const sent = lastEventId === undefined ? undefined : parsePosition(lastEventId)!;
  const start = sent && !isAfter(sent, head) ? sent : head;
  return streamSSE(c, async (stream) => {
    const subscription = new Subscription(audience, c.var.sessionId, userId, c.var.credentialExpiresAtMs, start, stream, hub);
    stream.onAbort(() => subscription.end('client_left'));
    await stream.writeSSE({
      event: 'stream.opened',
      id: formatPosition(start),
      retry: RETRY_ADVICE_MS,
      data: JSON.stringify({ resumed: start === sent }),
    });
    try {
      await hub.add(subscription);
      await subscription.replay();
    } catch (error) {
      c.var.log.warn({ err: error }, 'live events: could not replay the log; ending the stream so it resumes');
      subscription.end('unavailable');
    }
    await subscription.done;
  });
}

const lastEventIdOf = (query: { last_event_id?: string }, header: { 'last-event-id'?: string }) =>
  header['last-event-id'] ?? query.last_event_id;

export const streamMine =
  (deps: Deps, hub: EventHub): RouteHandler<typeof myEventsRoute, AppEnv> =>
  async (c) =>
    openStream(deps, hub, c, { userId: c.var.userId }, lastEventIdOf(c.req.valid('query'), c.req.valid('header')));

export const streamStore =
  (deps: Deps, hub: EventHub): RouteHandler<typeof storeEventsRoute, AppEnv> =>
  async (c) => {
    const { storeId } = c.req.valid('param');
    if (!(await isStaffOf(deps.db, c.var.userId, storeId)))
      throw new DomainError('forbidden', "Only the store's staff may follow its queue.");
    return openStream(deps, hub, c, { storeId }, lastEventIdOf(c.req.valid('query'), c.req.valid('header')));
  };
