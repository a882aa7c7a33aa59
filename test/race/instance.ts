/**
 * One service instance as the harness runs it: the real `node --import tsx src/main.ts` process on
 * a fixed port, so that after a SIGKILL it comes back where clients (and a load balancer) expect it.
 * Unlike test/support/server.ts it waits for /health instead of a log line, so it can run at
 * LOG_LEVEL=warn (a big run would otherwise pipe a log line per request), and keeps only the last
 * log lines for diagnostics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RAISED_RATE_LIMITS } from '../support/rate-limits.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KEPT_LOG_LINES = 300;

export interface Instance {
  readonly name: string;
  readonly baseUrl: string;
  /** The last error-level lines (pino level ≥ 50) and crash output. */
  errors(): string[];
  /** SIGKILL: dies mid-whatever, as in a crash; resolves when the process is gone. */
  kill(): Promise<void>;
  /**
   * Starts the process again on the same port; resolves once /health answers. With `env`, that is
   * its environment over the one it was launched with, from now on (until a restart with another).
   */
  restart(env?: Record<string, string>): Promise<void>;
  /**
   * SIGTERM and wait for the graceful exit, at most `withinMs`; past that, SIGKILL. Resolves with
   * the exit code, or 'killed' when it had to be killed.
   */
  stop(withinMs?: number): Promise<number | null | 'killed'>;
  readonly alive: boolean;
  /** Exits nobody asked for (a crash), each with the output that came before it. */
  takeCrashes(): string[];
}

/** Every process the harness started, so that an interrupted run can kill them all. */
const running = new Set<ChildProcess>();

export function killAllInstances(): void {
  for (const child of running) child.kill('SIGKILL');
}

export async function launchInstance(options: {
  name: string;
  databaseUrl: string;
  port: number;
  env: Record<string, string>;
  /** Called when the process exits without being asked to. */
  onCrash?: (name: string) => void;
}): Promise<Instance> {
  const baseUrl = `http://127.0.0.1:${options.port}`;
  const lines: string[] = [];
  const errorLines: string[] = [];
  const keep = (line: string) => {
    lines.push(line);
    if (lines.length > KEPT_LOG_LINES) lines.splice(0, lines.length - KEPT_LOG_LINES);
    if (!line.startsWith('{"level":') || /^\{"level":(50|60)/.test(line)) {
      errorLines.push(line);
      if (errorLines.length > KEPT_LOG_LINES) errorLines.splice(0, errorLines.length - KEPT_LOG_LINES);
    }
  };
  let child: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  let exitExpected = false;
  const crashes: string[] = [];
  let extraEnv: Record<string, string> = {};

  const start = async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', '--import', './test/race/orphan-guard.ts', 'src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        NODE_ENV: 'test',
        DATABASE_URL: options.databaseUrl,
        HOST: '127.0.0.1',
        PORT: String(options.port),
        LOG_LEVEL: 'warn',
        SEED_DEMO_DATA: 'false',
        ...RAISED_RATE_LIMITS,
        ...options.env,
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    exitExpected = false;
    running.add(proc);
    createInterface({ input: proc.stdout! }).on('line', keep);
    createInterface({ input: proc.stderr! }).on('line', keep);
    exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        running.delete(proc);
        if (!exitExpected) {
          options.onCrash?.(options.name);
          // Give the last lines of output a moment to arrive before keeping them.
          setTimeout(
            () => crashes.push(`${options.name} exited by itself (${code ?? signal}):\n    ${errorLines.slice(-25).join('\n    ')}`),
            200,
          );
        }
        resolve(code);
      }),
    );
    let gone = false;
    void exited.then(() => (gone = true));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (gone) throw new Error(`${options.name} exited before it answered /health:\n${lines.slice(-40).join('\n')}`);
      if (Date.now() > deadline) throw new Error(`${options.name} did not answer /health in 60 s:\n${lines.slice(-40).join('\n')}`);
      try {
        const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  await start();
  return {
    name: options.name,
    baseUrl,
    errors: () => errorLines.filter((l) => !l.includes('[NODE-CRON]')),
    get alive() {
      return alive();
    },
    takeCrashes: () => crashes.splice(0),
    kill: async () => {
      exitExpected = true;
      if (alive()) child!.kill('SIGKILL');
      await exited;
    },
    restart: async (env) => {
      if (alive()) throw new Error(`${options.name} is still running`);
      if (env) extraEnv = env;
      await start();
    },
    stop: async (withinMs = 30_000) => {
      exitExpected = true;
      if (!alive()) return exited;
      child!.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([exited, new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), withinMs)))]);
      clearTimeout(timer);
      if (outcome !== 'late') return outcome;
      child!.kill('SIGKILL');
      await exited;
      return 'killed';
    },
  };
}
