/**
 * A client of the event streams, through the SDK's followEvents: what it received, in order, and
 * how to wait for more. Stops when the server ends the stream or the test closes it.
 */
import { createParser } from 'eventsource-parser';
import { followEvents, streamEventOf, type FollowOptions, type StreamEvent } from '../../openapi/client.js';
import { eventually } from './eventually.js';

export interface Listener {
  /** Every event received, `stream.opened` first. */
  events: StreamEvent[];
  /** The order events only. */
  orderEvents(): Extract<StreamEvent, { event: `order.${string}` }>[];
  /** The id of the last event that had one: where to resume. */
  lastId(): string;
  /** Resolves when the stream has ended (by the server, or close()); with the error if it broke. */
  ended: Promise<Error | undefined>;
  /** Waits until `count` order events have arrived (or fails with what did). */
  waitForOrderEvents(count: number, timeoutMs?: number): Promise<Listener['events']>;
  close(): Promise<void>;
}

export async function listen(baseUrl: string, path: string, options: Omit<FollowOptions, 'signal'> = {}): Promise<Listener> {
  const abort = new AbortController();
  const events: StreamEvent[] = [];
  const stream = followEvents(baseUrl, path, { ...options, signal: abort.signal });
  // The first event (stream.opened) is awaited here, so a refusal throws from listen itself.
  const first = await stream.next();
  if (first.done) throw new Error(`${path}: the stream ended before stream.opened`);
  events.push(first.value);
  const ended = (async () => {
    try {
      for await (const event of stream) events.push(event);
      return undefined;
    } catch (error) {
      return abort.signal.aborted ? undefined : (error as Error);
    }
  })();
  const orderEvents = () => events.filter((e): e is Extract<StreamEvent, { event: `order.${string}` }> => e.event.startsWith('order.'));
  return {
    events,
    orderEvents,
    lastId: () => events.flatMap((e) => ('id' in e ? [e.id] : [])).at(-1)!,
    ended,
    waitForOrderEvents: (count, timeoutMs = 10_000) =>
      eventually(
        async () => orderEvents().length >= count && events,
        () => `expected ${count} order events on ${path}, got ${JSON.stringify(orderEvents().map((e) => e.event))}`,
        { timeoutMs },
      ),
    close: async () => {
      abort.abort();
      await ended;
    },
  };
}

/** The order events as (kind, order, status, version) lines: easy to compare. */
export const summary = (events: StreamEvent[]) =>
  events
    .filter((e) => e.event.startsWith('order.'))
    .map((e) => {
      const data = e.data as { order_id: string; status: string; version: number; amount?: number };
      return `${e.event} ${data.order_id} ${data.status} v${data.version}${data.amount === undefined ? '' : ` ${data.amount}`}`;
    });

/** The events of a stream's text as the SDK yields them, for checking against the document. */
export function parseEventStream(text: string): StreamEvent[] {
  const events: StreamEvent[] = [];
  let retry: number | undefined;
  const parser = createParser({ onRetry: (ms) => (retry = ms), onEvent: (parsed) => events.push(streamEventOf(parsed, retry)) });
  parser.feed(text);
  return events;
}
