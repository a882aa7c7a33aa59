import autocannon from 'autocannon';

export interface HttpRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadOptions {
  baseUrl: string;
  connections: number;
  durationS: number;
  /** Called for every request autocannon sends: each may get its own path, headers and body. */
  next: () => HttpRequest;
  /** Printed every few seconds while running. */
  progress?: (line: string) => void;
  label: string;
}

export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
}

/** One closed-loop autocannon run: `connections` connections, each sending as soon as it is answered. */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.baseUrl,
        connections: options.connections,
        duration: options.durationS,
        timeout: 10,
        requests: [
          {
            setupRequest: (request) => {
              const next = options.next();
              return { ...request, method: next.method, path: next.path, headers: next.headers ?? {}, body: next.body };
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        const statuses: Record<string, number> = {};
        for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = count ?? 0;
        const requests = Object.values(statuses).reduce((a, b) => a + b, 0);
        const durationS = result.duration;
        resolve({
          requests,
          durationS,
          rps: requests / durationS,
          p50: result.latency.p50,
          p90: result.latency.p90,
          p99: result.latency.p99,
          max: result.latency.max,
          statuses,
          errors: result.errors,
          timeouts: result.timeouts,
        });
      },
    );
    let seconds = 0;
    let sinceLast = 0;
    instance.on('response', () => {
      sinceLast++;
    });
    const timer = setInterval(() => {
      seconds += 2;
      options.progress?.(`  ${options.label}: ${seconds}s, ${Math.round(sinceLast / 2)} req/s`);
      sinceLast = 0;
    }, 2000);
    instance.on('done', () => clearInterval(timer));
  });
}

/** Sums two runs' status counts (warm-up and measured, for the audit). */
export function addStatuses(...runs: Record<string, number>[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const run of runs) for (const [code, n] of Object.entries(run)) total[code] = (total[code] ?? 0) + n;
  return total;
}
