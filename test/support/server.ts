import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { UNLIMITED_RADIUS_M } from '../../src/config.js';
import { RAISED_RATE_LIMITS } from './rate-limits.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The METRICS_TOKEN test servers get: send it as the bearer token of GET /metrics. */
export const TEST_METRICS_TOKEN = 'metrics-token-of-the-test-servers';

export interface RunningServer {
  baseUrl: string;
  process: ChildProcess;
  /** Every log line the server printed (pino JSON). */
  logs: string[];
  /** SIGTERM and wait for a clean exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: the process dies mid-whatever, as in a crash. */
  kill(): Promise<void>;
}

/**
 * Starts the real service (`node --import tsx src/main.ts`) on a free port against `databaseUrl`,
 * exactly as a user would, and resolves once it logs that it is listening. A variable given as
 * undefined in `env` is left out (to see the service's own default).
 */
export async function startServer(databaseUrl: string, env: Record<string, string | undefined> = {}): Promise<RunningServer> {
  const childEnv: Record<string, string | undefined> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    SEED_DEMO_DATA: 'false',
    JOBS_ENABLED: 'false',
    // The service's 3 s is for production; on a test machine starved of CPU (seen: the hypervisor
    // taking 50–90 % of it) a new connection to a busy embedded server took longer, and a test
    // that is not about connection timeouts failed with 503. Tests about them set their own.
    DB_CONNECT_TIMEOUT_S: '10',
    METRICS_TOKEN: TEST_METRICS_TOKEN,
    ...RAISED_RATE_LIMITS,
    // Two quotas raised: most files deliver their orders anywhere on Earth (uniqueSpot, so that
    // they never see each other's in a nearby search) from stores in Jeonju, and open more orders
    // per user than a person may. test/blackbox/quotas.test.ts gives these as undefined to test
    // the service's defaults. The wallet cap stays the default everywhere.
    MAX_OPEN_ORDERS: '10000',
    DELIVERY_RADIUS_M: String(UNLIMITED_RADIUS_M),
    ...env,
  };
  for (const [name, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[name];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  createInterface({ input: child.stderr! }).on('line', (line) => logs.push(line));
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s:\n${logs.join('\n')}`)), 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logs.push(line);
      if (line.includes('"msg":"listening')) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${JSON.parse(line).port}`);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${logs.join('\n')}`));
    });
  });
  return {
    baseUrl,
    process: child,
    logs,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
