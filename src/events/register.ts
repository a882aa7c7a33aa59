import { defineOpenAPIRoute as route } from '@hono/zod-openapi';
import type { Deps } from '../http/deps.js';
import { EventHub } from './hub.js';
import { presentEvent } from './present.js';
import { createTicket, streamMine, streamStore } from './handlers.js';
import { createTicketRoute, myEventsRoute, storeEventsRoute } from './routes.js';

export const eventRoutes = (deps: Deps, hub: EventHub) => [
  route({ route: myEventsRoute, handler: streamMine(deps, hub) }),
  route({ route: storeEventsRoute, handler: streamStore(deps, hub) }),
  route({ route: createTicketRoute, handler: createTicket(deps) }),
];

/**
 * The instance's reader of the log and its streams (one per process, made by main.ts);
 * `isRevoked` is what this instance knows of revoked sessions (the authenticator's poll).
 */
export function eventHubOf(deps: Deps, isRevoked: (sessionId: string) => boolean): EventHub {
  const hub = new EventHub(deps.db, deps.logger, {
    pollMs: deps.config.EVENTS_POLL_MS,
    heartbeatMs: deps.config.EVENTS_HEARTBEAT_SECONDS * 1000,
    isRevoked,
    present: presentEvent,
  });
  deps.metrics.countStreamsWith(() => hub.size);
  return hub;
}
