/**
 * A TCP pass-through between the service and PostgreSQL that reads the frontend half of the wire
 * protocol and records every statement the service executes, with its SQL text and parameters.
 *
 * Why a tap and not pg_stat_statements or the server log: pg_stat_statements needs
 * shared_preload_libraries (a server restart, not available on a shared or embedded server), and
 * the log is not readable from the tests. Cumulative statistics (pg_stat_database) are flushed
 * lazily, so counting with them would depend on timing. The wire is exact: one Execute ('E') or
 * simple Query ('Q') message is one statement, whatever the driver or the pool does.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface CapturedStatement {
  sql: string;
  /** Parameter values as sent (text format), null for SQL NULL. */
  params: (string | null)[];
  /** Parameter type OIDs the driver declared (0 = let the server infer). */
  paramTypes: number[];
}

export interface StatementTap {
  /** The database URL to give the service: same database, through the tap. */
  url: string;
  statements: CapturedStatement[];
  /**
   * Round trips so far, over all connections: each time a client sends after an answer reached
   * it (or first), it waits for one more answer. Pipelined messages share one round trip.
   */
  roundTrips(): number;
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

function cstring(buf: Buffer, at: number): [string, number] {
  const end = buf.indexOf(0, at);
  return [buf.toString('utf8', at, end), end + 1];
}

/** Parses one client's stream of frontend messages; calls onStatement per executed statement. */
function frontendParser(onStatement: (s: CapturedStatement) => void) {
  let pending = Buffer.alloc(0);
  let started = false;
  const prepared = new Map<string, { sql: string; paramTypes: number[] }>();
  const portals = new Map<string, { statement: string; params: (string | null)[] }>();

  const handle = (type: string, body: Buffer) => {
    if (type === 'Q') {
      onStatement({ sql: cstring(body, 0)[0], params: [], paramTypes: [] });
    } else if (type === 'P') {
      const [name, afterName] = cstring(body, 0);
      const [sql, afterSql] = cstring(body, afterName);
      const count = body.readInt16BE(afterSql);
      const paramTypes = Array.from({ length: count }, (_, i) => body.readUInt32BE(afterSql + 2 + 4 * i));
      prepared.set(name, { sql, paramTypes });
    } else if (type === 'B') {
      const [portal, afterPortal] = cstring(body, 0);
      const [statement, afterStatement] = cstring(body, afterPortal);
      let at = afterStatement;
      const formats = body.readInt16BE(at);
      at += 2 + 2 * formats;
      const count = body.readInt16BE(at);
      at += 2;
      const params: (string | null)[] = [];
      for (let i = 0; i < count; i++) {
        const length = body.readInt32BE(at);
        at += 4;
        if (length < 0) params.push(null);
        else {
          params.push(body.toString('utf8', at, at + length));
          at += length;
        }
      }
      portals.set(portal, { statement, params });
    } else if (type === 'E') {
      const [portal] = cstring(body, 0);
      const bound = portals.get(portal);
      const statement = bound && prepared.get(bound.statement);
      if (bound && statement) onStatement({ sql: statement.sql, params: bound.params, paramTypes: statement.paramTypes });
      else onStatement({ sql: '<unknown portal>', params: [], paramTypes: [] });
    }
  };

  return (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      if (!started) {
        if (pending.length < 8) return;
        const length = pending.readInt32BE(0);
        if (pending.length < length) return;
        const code = pending.readInt32BE(4);
        pending = pending.subarray(length);
        // After an SSL/GSS request the client sends the real startup message.
        if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) started = true;
        continue;
      }
      if (pending.length < 5) return;
      const length = pending.readInt32BE(1);
      if (pending.length < 1 + length) return;
      handle(String.fromCharCode(pending[0]), pending.subarray(5, 1 + length));
      pending = pending.subarray(1 + length);
    }
  };
}

/**
 * `answerHoldMs`: how long answers are held before they reach the client. The messages of one
 * pipelined write may leave the driver in more than one piece: postgres.js writes a message of
 * 1 KiB or more at once and the rest on the next turn of its event loop (later on a busy machine),
 * and a fast server may answer the first piece before the rest is written. Held answers arrive
 * after the rest, so only a client that waited for an answer counts a round trip.
 */
export async function startStatementTap(databaseUrl: string, options: { answerHoldMs?: number } = {}): Promise<StatementTap> {
  const answerHoldMs = options.answerHoldMs ?? 0;
  const target = new URL(databaseUrl);
  const targetPort = Number(target.port || 5432);
  const targetHost = target.hostname;
  const statements: CapturedStatement[] = [];
  const sockets = new Set<Socket>();
  let roundTrips = 0;

  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    sockets.add(client).add(upstream);
    const parse = frontendParser((s) => statements.push(s));
    let answeredLast = true;
    client.on('data', (chunk) => {
      if (answeredLast) roundTrips++;
      answeredLast = false;
      // Recorded before it is forwarded: by the time the response reaches the HTTP client, every
      // statement of the request is in `statements`.
      parse(chunk);
      upstream.write(chunk);
    });
    const answer = (chunk: Buffer) => {
      answeredLast = true;
      client.write(chunk);
    };
    upstream.on('data', (chunk: Buffer) => (answerHoldMs > 0 ? setTimeout(answer, answerHoldMs, chunk) : answer(chunk)));
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);

  return {
    url: url.toString(),
    statements,
    roundTrips: () => roundTrips,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Every instance polls the revoked sessions each second, on its own clock: no request's statement. */
export const isRevocationPoll = (statement: CapturedStatement) => /from \(select now\(\)\) n\s+left join sessions/i.test(statement.sql);
