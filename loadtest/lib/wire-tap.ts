/**
 * A TCP pass-through to PostgreSQL that records, from both halves of the wire protocol, every
 * statement a client executes: its SQL text, its parameters as sent, the types its Parse declared,
 * whether it ran as a named (prepared) statement, which round trip it went in, and how many rows
 * came back. The bench uses it to learn what the service sends for one request, and to check that
 * the floor server sends the same.
 *
 * The same idea as test/support/statement-tap.ts, which the tests use; that one records neither
 * the round trip of each statement, nor whether it was prepared, nor its rows, which a replay needs.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface WireStatement {
  /** The connection it ran on (1, 2, … in the order the tap accepted them). */
  connection: number;
  /** Round trips are numbered over all connections: statements with one number were sent together. */
  roundTrip: number;
  sql: string;
  /** Sent as a simple Query message (no parameters, not prepared). */
  simple: boolean;
  /** Executed through a named prepared statement (postgres.js's `prepare: true`), not the unnamed one. */
  named: boolean;
  /** The round trip its Parse went in (a simple Query's own): before the request's, it was reused. */
  parsedIn: number;
  /** Parameter type OIDs the Parse declared (0: let the server infer). */
  paramTypes: number[];
  /** Parameter values as sent (text format), null for SQL NULL. */
  params: (string | null)[];
  /** Rows the server returned (DataRow messages), and its CommandComplete tag. */
  rows: number;
  tag?: string;
  failed?: boolean;
}

export interface WireTap {
  /** The database URL to give a client: same database, through the tap. */
  url: string;
  statements: WireStatement[];
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

function cstring(buf: Buffer, at: number): [string, number] {
  const end = buf.indexOf(0, at);
  return [buf.toString('utf8', at, end), end + 1];
}

/** Splits a stream into typed messages (type byte, int32 length including itself, body). */
function messages(onMessage: (type: string, body: Buffer) => void, startup: (pending: Buffer) => number | undefined) {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    for (;;) {
      const skipped = startup(pending);
      if (skipped === undefined) return;
      if (skipped > 0) {
        pending = pending.subarray(skipped);
        continue;
      }
      if (pending.length < 5) return;
      const length = pending.readInt32BE(1);
      if (pending.length < 1 + length) return;
      onMessage(String.fromCharCode(pending[0]), pending.subarray(5, 1 + length));
      pending = pending.subarray(1 + length);
    }
  };
}

export async function startWireTap(databaseUrl: string): Promise<WireTap> {
  const target = new URL(databaseUrl);
  const statements: WireStatement[] = [];
  const sockets = new Set<Socket>();
  let roundTrips = 0;
  let connections = 0;

  const server: Server = createServer((client) => {
    const connection = ++connections;
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    const prepared = new Map<string, { sql: string; paramTypes: number[]; parsedIn: number }>();
    const portals = new Map<string, { statement: string; params: (string | null)[] }>();
    // Executed statements awaiting their answer, in the order sent: the server answers in order.
    const unanswered: WireStatement[] = [];
    let roundTrip = 0;
    let serverSpokeLast = true;
    let started = false;
    let sslAsked = false;
    let sslAnswered = false;

    const record = (statement: Omit<WireStatement, 'connection' | 'roundTrip' | 'rows'>) => {
      const s: WireStatement = { connection, roundTrip, rows: 0, ...statement };
      statements.push(s);
      unanswered.push(s);
    };
    const frontend = messages(
      (type, body) => {
        if (type === 'Q') {
          record({ sql: cstring(body, 0)[0], simple: true, named: false, parsedIn: roundTrip, paramTypes: [], params: [] });
        } else if (type === 'P') {
          const [name, afterName] = cstring(body, 0);
          const [sql, afterSql] = cstring(body, afterName);
          const count = body.readInt16BE(afterSql);
          const paramTypes = Array.from({ length: count }, (_, i) => body.readUInt32BE(afterSql + 2 + 4 * i));
          prepared.set(name, { sql, paramTypes, parsedIn: roundTrip });
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
          record({
            sql: statement?.sql ?? '<unknown portal>',
            simple: false,
            named: bound !== undefined && bound.statement !== '',
            parsedIn: statement?.parsedIn ?? roundTrip,
            paramTypes: statement?.paramTypes ?? [],
            params: bound?.params ?? [],
          });
        }
      },
      (pending) => {
        if (started) return 0;
        if (pending.length < 8) return undefined;
        const length = pending.readInt32BE(0);
        if (pending.length < length) return undefined;
        const code = pending.readInt32BE(4);
        // After an SSL or GSS request the client sends the real startup message.
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) sslAsked = true;
        else started = true;
        return length;
      },
    );
    const backend = messages(
      (type, body) => {
        if (type === 'D' && unanswered[0]) unanswered[0].rows++;
        else if (type === 'C') {
          const s = unanswered.shift();
          if (s) s.tag = cstring(body, 0)[0];
        } else if (type === 'E') {
          const s = unanswered.shift();
          if (s) s.failed = true;
        } else if (type === 'I' || type === 's') unanswered.shift();
      },
      // The answer to an SSL or GSS request is one byte, before any message.
      (pending) => {
        if (!sslAsked || sslAnswered) return 0;
        if (pending.length < 1) return undefined;
        sslAnswered = true;
        return 1;
      },
    );

    client.on('data', (chunk: Buffer) => {
      if (serverSpokeLast) roundTrip = ++roundTrips;
      serverSpokeLast = false;
      // Recorded before it is forwarded: by the time an HTTP answer reaches its client, every
      // statement of its request is in `statements`.
      frontend(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      serverSpokeLast = true;
      backend(chunk);
      client.write(chunk);
    });
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
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
