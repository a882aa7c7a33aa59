/**
 * The database ceiling: pgbench running the very statements the service sends for an action
 * (loadtest/pgbench/*.sql mirror them), at the same concurrency, prepared like postgres.js does.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export function findPgbench(): string | undefined {
  const candidates = ['/usr/bin/pgbench', '/usr/local/bin/pgbench'];
  try {
    for (const version of readdirSync('/usr/lib/postgresql').sort().reverse()) {
      candidates.push(`/usr/lib/postgresql/${version}/bin/pgbench`);
    }
  } catch {
    // no Debian PostgreSQL layout
  }
  return candidates.find((p) => existsSync(p));
}

export interface PgbenchResult {
  tps: number;
  transactions: number;
  failed: number;
  p50: number;
  p99: number;
  output: string;
}

export async function runPgbench(
  binary: string,
  databaseUrl: string,
  script: string,
  options: { clients: number; durationS: number; variables?: Record<string, string | number> },
): Promise<PgbenchResult> {
  const url = new URL(databaseUrl);
  const logDir = mkdtempSync(path.join(tmpdir(), 'co-order-pgbench-'));
  const args = [
    '-n',
    '-M',
    'prepared',
    '-c',
    String(options.clients),
    '-j',
    '2',
    '-T',
    String(options.durationS),
    '-f',
    script,
    '-l',
    '--log-prefix',
    path.join(logDir, 'tx'),
    ...Object.entries(options.variables ?? {}).flatMap(([k, v]) => ['-D', `${k}=${v}`]),
    decodeURIComponent(url.pathname.slice(1)),
  ];
  const env = {
    ...process.env,
    PGHOST: url.hostname,
    PGPORT: url.port || '5432',
    PGUSER: decodeURIComponent(url.username || 'postgres'),
    PGPASSWORD: decodeURIComponent(url.password),
  };
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`pgbench exited ${code}:\n${text}`))));
  });
  // Per-transaction log lines: client_id transaction_no time_us script_no epoch epoch_us
  const latencies: number[] = [];
  for (const file of readdirSync(logDir)) {
    for (const line of readFileSync(path.join(logDir, file), 'utf8').split('\n')) {
      const us = Number(line.split(' ')[2]);
      if (Number.isFinite(us) && line) latencies.push(us / 1000);
    }
  }
  rmSync(logDir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(output)?.[1] ?? NaN);
  return {
    tps,
    transactions: Number(/number of transactions actually processed: (\d+)/.exec(output)?.[1] ?? latencies.length),
    failed: Number(/number of failed transactions: (\d+)/.exec(output)?.[1] ?? 0),
    p50: at(0.5),
    p99: at(0.99),
    output,
  };
}
