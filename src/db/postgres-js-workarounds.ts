/**
 * Workarounds for bugs of postgres.js 3.4.9, the version in use. Each names its upstream issue and
 * when it can go; none of those issues is fixed in a release yet. One more lives in main.ts: its
 * unhandledRejection handler ignores a lost session (endsSession) because postgres.js drops the
 * promise of the query it runs on every new connection (porsager/postgres#1192), until a
 * postgres.js release fixes #1192.
 */
import { connect, type Socket } from 'node:net';
import type postgres from 'postgres';
import { endsSession, POOL_EXHAUSTED } from './errors.js';

/**
 * The connection to PostgreSQL with Nagle's algorithm off, handed to postgres.js as its `socket`
 * option. postgres.js leaves it on, and writes a message of 1 KiB or more at once, the rest on the
 * next turn of its event loop: the second write then waited for the server to acknowledge the
 * first, which it does with its answer. An idempotent answer of an order with its items passes
 * 1 KiB, and the COMMIT sent with it came a whole round trip late. postgres.js starts the startup
 * exchange on a socket it is handed at once; Node holds the writes until the connection is made.
 *
 * No upstream issue is known for it: until a postgres.js release sets TCP_NODELAY on its sockets.
 */
export function connectWithoutDelay(options: { host: string[]; port: number[]; path?: string | false }): Socket {
  if (options.path) return connect({ path: options.path });
  return connect({ host: options.host[0], port: options.port[0], noDelay: true });
}

// The longest postgres.js waits before it opens a lost connection again: far inside the wait of a
// request for a connection (DB_CONNECT_TIMEOUT_S), while a database that refuses is still asked
// at most a few times a second per connection.
const RECONNECT_DELAY_MAX_S = 0.5;

/**
 * postgres.js's reconnect delay (its `backoff` option), bounded. Its own grows threefold with a
 * counter shared by the whole pool, which every connection reset raises and only a connection
 * whose startup ends in a plain query lowers: a reserved connection (every one of ours) skips the
 * reset once postgres.js has fetched its types (porsager/postgres#1193; fix proposed in #1214). So
 * the counter only ever grew, and once a few resets had happened over an instance's life every lost
 * connection waited seconds (up to 20) before it was opened again, while requests were refused 503
 * `overloaded` for want of one. The same jittered curve, capped at RECONNECT_DELAY_MAX_S.
 *
 * Until a postgres.js release resets the counter after a reserved connection's startup.
 */
export function reconnectDelaySeconds(resets: number): number {
  return (0.5 + Math.random() / 2) * Math.min(3 ** resets / 100, RECONNECT_DELAY_MAX_S);
}

// Closing the pool at shutdown: long enough for a last statement, short of any orchestrator's patience.
const CLOSE_TIMEOUT_S = 5;

/**
 * Ends the pool, its connections given a few seconds to finish and then closed: postgres.js can
 * wait forever to end a pool whose connections the server cut (porsager/postgres#1097).
 * Until a postgres.js release fixes #1097.
 */
export function endPool(sql: postgres.Sql): Promise<void> {
  return sql.end({ timeout: CLOSE_TIMEOUT_S });
}

/**
 * A reserved connection (reserveWithin) guarded against postgres.js crashing the whole process
 * when a reserved connection is used after its session died (porsager/postgres#1208) — and the
 * ROLLBACK after the failed statement is such a use — or being released without a socket
 * (porsager/postgres#1199). Once its session is lost, further statements fail with the error that
 * ended it, it is not released (the pool has already set it aside as closed and reconnects it when
 * needed), and statements still waiting on it fail too: one pipelined behind a statement that must
 * first be described waits in the reserved connection's own queue, which postgres.js never fails.
 *
 * Until a postgres.js release fixes #1208 and #1199, and fails the statements queued on a reserved
 * connection whose session is lost.
 */
export async function reserveGuarded(pool: postgres.Sql, waitMs: number): Promise<postgres.ReservedSql> {
  const reserved = await reserveWithin(pool, waitMs);
  let lost: unknown;
  const unanswered = new Set<(error: unknown) => void>();
  return new Proxy(reserved, {
    get(target, property, receiver) {
      if (property === 'unsafe') {
        return (...args: Parameters<typeof target.unsafe>) => {
          if (lost !== undefined) return Promise.reject(lost);
          const query = target.unsafe(...args);
          return new Promise((resolve, reject) => {
            unanswered.add(reject);
            query
              .then(resolve, (error: unknown) => {
                if (endsSession(error) && lost === undefined) {
                  lost = error;
                  for (const failStranded of unanswered) failStranded(error);
                }
                reject(error);
              })
              .finally(() => unanswered.delete(reject));
          });
        };
      }
      if (property === 'release') {
        return () => {
          if (lost === undefined) target.release();
        };
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

/**
 * sql.reserve(), bounded: a request waits at most `waitMs` for a connection (then POOL_EXHAUSTED,
 * answered 503 overloaded). postgres.js strands a queued reserve() for good when the connection it
 * was about to get is closed by the server (porsager/postgres#1195): unbounded, every request that
 * queued behind a terminated connection hung forever, and the pool with it. A stranded request is
 * never served, so one still waiting asks again every ASK_AGAIN_MS and takes whichever answer
 * comes first; a connection that arrives after that (or after the deadline) goes straight back to
 * the pool. The first failure (e.g. the database refusing connections) fails the request at once.
 *
 * Until a postgres.js release fixes #1195: then asking again can go; the deadline stays, it is
 * what bounds a request's wait for a busy pool.
 */
const ASK_AGAIN_MS = 200;
// The pool's own connect timeout (postgres.js's connect_timeout, the same length) fires first when
// a new connection cannot be made: only a wait for a busy pool's connection ends in POOL_EXHAUSTED.
const CONNECT_ERROR_FIRST_MS = 250;

function reserveWithin<T extends Record<string, unknown>>(sql: postgres.Sql<T>, waitMs: number): Promise<postgres.ReservedSql<T>> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = () => {
      settled = true;
      clearTimeout(deadline);
      clearInterval(again);
    };
    const ask = () =>
      sql.reserve().then(
        (reserved) => {
          if (settled) return reserved.release();
          settle();
          resolve(reserved);
        },
        (error: unknown) => {
          if (settled) return;
          settle();
          reject(error);
        },
      );
    const deadline = setTimeout(() => {
      settle();
      reject(Object.assign(new Error(`no database connection came free within ${waitMs} ms`), { code: POOL_EXHAUSTED }));
    }, waitMs + CONNECT_ERROR_FIRST_MS);
    const again = setInterval(ask, ASK_AGAIN_MS);
    void ask();
  });
}
