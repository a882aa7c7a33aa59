/**
 * Client IPs behind a reverse proxy: a real one (http-proxy) in front of two instances, sending
 * each request to the next instance in turn and appending the client's address to
 * X-Forwarded-For. With TRUST_PROXY naming the proxy, each client has its own sign-in budget, the
 * same on both instances, and what a client writes into X-Forwarded-For itself is not believed;
 * without it, everyone behind the proxy is one client. The clients connect from distinct loopback
 * addresses (127.0.0.2, 127.0.0.3), as distinct machines would.
 */
import { randomUUID } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import httpProxy from 'http-proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RATE_LIMITS } from '../support/rate-limits.js';
import { startServer, type RunningServer } from '../support/server.js';
import { useDatabase } from '../support/use-server.js';

const LIMITS = { ...DEFAULT_RATE_LIMITS, RATE_LIMIT_AUTH: '3/60' };
const app = useDatabase();
const servers: RunningServer[] = [];
const proxies: Server[] = [];

/** A round-robin reverse proxy in front of `targets`; its URL. */
async function proxyInFrontOf(targets: RunningServer[]): Promise<string> {
  const proxy = httpProxy.createProxyServer({ xfwd: true });
  let next = 0;
  const server = createServer((req, res) => {
    proxy.web(req, res, { target: targets[next++ % targets.length].baseUrl }, () => {
      res.writeHead(502).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxies.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** POST /auth/dev/token through `url`, from the loopback address `from`; the status. */
function devLogin(url: string, from: string, headers: Record<string, string> = {}): Promise<number> {
  const body = JSON.stringify({ email: `behind-${randomUUID()}@example.com`, name: 'Behind' });
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/auth/dev/token`,
      { method: 'POST', localAddress: from, headers: { 'Content-Type': 'application/json', ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function statuses(url: string, from: string, count: number, headers: Record<string, string> = {}) {
  const seen: number[] = [];
  for (let n = 0; n < count; n++) seen.push(await devLogin(url, from, headers));
  return seen;
}

let trusting: string;
let naive: string;
beforeAll(async () => {
  const trustingPair = await Promise.all([0, 1].map(() => startServer(app.db.url, { ...LIMITS, TRUST_PROXY: '127.0.0.1' })));
  const naivePair = await Promise.all([0, 1].map(() => startServer(app.db.url, LIMITS)));
  servers.push(...trustingPair, ...naivePair);
  trusting = await proxyInFrontOf(trustingPair);
  naive = await proxyInFrontOf(naivePair);
});
afterAll(async () => {
  for (const proxy of proxies) await new Promise((resolve) => proxy.close(resolve));
  await Promise.all(servers.map((s) => s.stop()));
});

describe('behind a proxy named by TRUST_PROXY', () => {
  it('gives each client its own budget, shared by both instances behind it', async () => {
    expect(await statuses(trusting, '127.0.0.2', 4)).toEqual([200, 200, 200, 429]);
    expect(await statuses(trusting, '127.0.0.3', 4)).toEqual([200, 200, 200, 429]);
  });

  it('does not believe an X-Forwarded-For the client wrote itself', async () => {
    expect(await statuses(trusting, '127.0.0.4', 3, { 'X-Forwarded-For': '198.51.100.1' })).toEqual([200, 200, 200]);
    expect(await statuses(trusting, '127.0.0.4', 2, { 'X-Forwarded-For': '198.51.100.2' })).toEqual([429, 429]);
  });
});

describe('behind a proxy TRUST_PROXY does not name', () => {
  it('sees every client as the proxy: one budget for all', async () => {
    expect(await statuses(naive, '127.0.0.5', 3)).toEqual([200, 200, 200]);
    expect(await statuses(naive, '127.0.0.6', 1)).toEqual([429]);
  });
});
