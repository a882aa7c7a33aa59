/**
 * Event-stream clients for the bench's `events` scenario: many streams, each on a connection of
 * its own (as phones are), noting when each order's first event reached it.
 */
import { request as httpRequest } from 'node:http';

export interface StreamClient {
  /** When (performance.now()) each order's first `order.*` event arrived on this stream. */
  received: Map<string, number>;
  close(): void;
}

/** Opens a stream of GET /users/me/events; resolves once `stream.opened` has arrived. */
export function openStream(baseUrl: string, authorization: string): Promise<StreamClient> {
  return new Promise((resolve, reject) => {
    const received = new Map<string, number>();
    let buffer = '';
    let opened = false;
    const request = httpRequest(`${baseUrl}/users/me/events`, { agent: false, headers: { authorization } }, (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`stream refused: ${response.statusCode}`));
        response.resume();
        return;
      }
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        const now = performance.now();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith('event: stream.opened') && !opened) {
            opened = true;
            resolve({ received, close: () => request.destroy() });
          }
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (block.startsWith('event: order.') && data) {
            const orderId = (JSON.parse(data) as { order_id: string }).order_id;
            if (!received.has(orderId)) received.set(orderId, now);
          }
        }
      });
      response.on('error', () => {});
    });
    request.on('error', (error) => {
      if (!opened) reject(error);
    });
    request.end();
  });
}

/** Opens `count` streams, `parallel` at a time, for the authorizations `authorizationOf(i)`. */
export async function openStreams(
  baseUrl: string,
  count: number,
  authorizationOf: (i: number) => string,
  parallel = 64,
): Promise<StreamClient[]> {
  const streams: StreamClient[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++;
        streams[i] = await openStream(baseUrl, authorizationOf(i));
      }
    }),
  );
  return streams;
}

/** The p-quantile (0–1) of `values`, in their unit; NaN when there are none. */
export function quantile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}
