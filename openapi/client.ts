/**
 * The co-order SDK: openapi-fetch typed by openapi/schema.d.ts, which is generated from the
 * committed openapi/openapi.json. Every black-box test talks to the server through it.
 */
import { EventSourceParserStream } from 'eventsource-parser/stream';
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type CoOrderClient = Client<paths>;
export type Schemas = components['schemas'];

/** `redirect: 'manual'` to read a redirect (GET /auth/oidc/{provider}/authorize) rather than follow it. */
export function createCoOrderClient(baseUrl: string, token?: string, init: { redirect?: 'follow' | 'manual' } = {}): CoOrderClient {
  return createClient<paths>({
    baseUrl,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    ...(init.redirect ? { fetch: (request: Request) => fetch(request, { redirect: init.redirect }) } : {}),
  });
}

/** One event of GET /users/me/events or GET /stores/{storeId}/events, its `data:` parsed (the document's StreamEvent). */
export type StreamEvent = Schemas['StreamEvent'];

/** An event as eventsource-parser reads it, as a StreamEvent: its data parsed, `retry:` on stream.opened. */
export function streamEventOf(parsed: { event?: string; id?: string; data: string }, retry: number | undefined): StreamEvent {
  const { event, id, data } = parsed;
  return {
    event,
    ...(id === undefined ? {} : { id }),
    ...(event === 'stream.opened' ? { retry } : {}),
    data: JSON.parse(data),
  } as StreamEvent;
}

export interface FollowOptions {
  /** The bearer token; or `ticket`, from POST /users/me/events/tickets. */
  token?: string;
  ticket?: string;
  /** Resume after this event id (the last one you got): what you missed comes first. */
  lastEventId?: string;
  signal?: AbortSignal;
}

/**
 * Reads an event stream until the server ends it or `signal` aborts: each event with its `data:`
 * parsed (eventsource-parser reads the text/event-stream). Keep the last `id` to resume with.
 * A refusal (401, 403, 429…) throws, with the problem's code in the message.
 */
export async function* followEvents(baseUrl: string, path: string, options: FollowOptions = {}): AsyncGenerator<StreamEvent> {
  const url = new URL(path, baseUrl);
  if (options.ticket) url.searchParams.set('ticket', options.ticket);
  const response = await fetch(url, {
    headers: {
      Accept: 'text/event-stream',
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
      ...(options.lastEventId ? { 'Last-Event-ID': options.lastEventId } : {}),
    },
    signal: options.signal,
  });
  if (response.status !== 200 || !response.body) {
    const problem = (await response.json().catch(() => ({}))) as Partial<Schemas['Problem']>;
    throw new Error(`${path}: ${response.status} ${problem.code ?? ''}: ${problem.detail ?? ''}`);
  }
  let retry: number | undefined;
  const parser = new EventSourceParserStream({ onRetry: (ms) => (retry = ms) });
  for await (const parsed of response.body.pipeThrough(new TextDecoderStream()).pipeThrough(parser)) yield streamEventOf(parsed, retry);
}
