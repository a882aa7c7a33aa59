import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Spawned {
  pid: number;
  baseUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts `node --import tsx <entry>` as a user would (`npm start` runs the same), its output to
 * `logFile`, and resolves once `readyPath` answers 200.
 */
export async function startNodeProcess(
  entry: string,
  port: number,
  env: Record<string, string>,
  logFile: string,
  readyPath: string,
  nodeFlags: string[] = [],
): Promise<Spawned> {
  const out = openSync(logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}; see ${logFile}`);
    try {
      const response = await fetch(baseUrl + readyPath);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${entry} was not ready in 120 s; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    pid: child.pid!,
    baseUrl,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resident set size of a process in MB (VmRSS), or NaN when it is gone. */
export function rssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Samples a process's RSS every 200 ms until stopped; reports the peak. */
export function sampleRss(pid: number): { stop(): number } {
  let peak = rssMb(pid);
  const timer = setInterval(() => {
    const now = rssMb(pid);
    if (now > peak) peak = now;
  }, 200);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, rssMb(pid) || 0);
    },
  };
}

const TICKS_PER_SECOND = 100;

function cpuTicks(pid: number | 'self'): number {
  try {
    // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Every postgres process on the machine (when the bench cannot tell which are its own). */
function allPostgresPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function totalCpuTicks(): { busy: number; all: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = values[3] + (values[4] ?? 0);
  const all = values.reduce((a, b) => a + b, 0);
  return { busy: all - idle, all };
}

export interface CpuSplit {
  /** Percent of one core, over the window. */
  server: number;
  postgres: number;
  loadgen: number;
  /** Percent of the whole machine (2 cores = 100 %). */
  machine: number;
  /** CPU seconds of the server process over the window, unrounded (for CPU per request). */
  serverS?: number;
}

/**
 * Where the CPU went during a window: the server process, the database's processes, and this
 * process (the load generator). `postgresPids` names the database's processes (its backends and
 * its background workers, asked at both ends of the window); without it, every postgres process
 * on the machine counts, other users' included.
 */
export async function cpuWindow(
  serverPid: number | undefined,
  postgresPids: () => Promise<number[]> = async () => allPostgresPids(),
): Promise<{ stop(): Promise<CpuSplit> }> {
  const started = Date.now();
  const server0 = serverPid ? cpuTicks(serverPid) : 0;
  // Per database process: its ticks when first seen (0 for one that started in the window) and
  // the latest seen; sampled every half second so short-lived backends (pgbench's) count too.
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const sample = async (initial: boolean) => {
    for (const pid of await postgresPids()) {
      const ticks = cpuTicks(pid);
      if (!first.has(pid)) first.set(pid, initial ? ticks : 0);
      if (ticks > 0) last.set(pid, Math.max(ticks, last.get(pid) ?? 0));
    }
  };
  await sample(true);
  const timer = setInterval(() => void sample(false).catch(() => {}), 500);
  const self0 = cpuTicks('self');
  const total0 = totalCpuTicks();
  return {
    stop: async () => {
      clearInterval(timer);
      await sample(false);
      const seconds = (Date.now() - started) / 1000;
      const pct = (ticks: number) => Math.round((ticks / TICKS_PER_SECOND / seconds) * 100);
      const server1 = serverPid ? cpuTicks(serverPid) : 0;
      const self1 = cpuTicks('self');
      const total1 = totalCpuTicks();
      let pg = 0;
      for (const [pid, ticks] of last) pg += ticks - (first.get(pid) ?? 0);
      return {
        server: serverPid ? pct(server1 - server0) : 0,
        postgres: pct(pg),
        loadgen: pct(self1 - self0),
        machine: Math.round(((total1.busy - total0.busy) / Math.max(1, total1.all - total0.all)) * 100),
        serverS: serverPid ? (server1 - server0) / TICKS_PER_SECOND : undefined,
      };
    },
  };
}

/** CPU ticks of a process by thread (the main thread, the others), for diagnostics. */
export function threadTicks(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '');
        const name = tid === String(pid) ? 'main' : comm === 'node' ? 'other' : comm;
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        byName.set(name, (byName.get(name) ?? 0) + Number(fields[11]) + Number(fields[12]));
      } catch {
        // thread gone
      }
    }
  } catch {
    // process gone
  }
  return byName;
}
