import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  observeRequest(method: string, route: string, status: number, durationMs: number): void;
  countRateLimited(rateClass: string): void;
  observeRateLimiter(rateClass: string, seconds: number): void;
  /** A top-up that needs a person: `given_up` (still unknown at the provider), `amount_mismatch`. */
  countTopUpProblem(problem: 'given_up' | 'amount_mismatch'): void;
  /** Where the gauge of open event streams reads its figure. */
  countStreamsWith(count: () => number): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method and route.',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'http_rate_limited_total',
    help: 'Requests answered 429 by rate-limit class.',
    labelNames: ['class'],
    registers: [registry],
  });
  const limiter = new Histogram({
    name: 'rate_limiter_duration_seconds',
    help: 'Time the rate limiter took to decide, by class (a lease from the shared budget, or memory).',
    labelNames: ['class'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
    registers: [registry],
  });
  const topUpProblems = new Counter({
    name: 'payments_top_up_problems_total',
    help: 'Top-ups the service could not settle on its own: given_up (the provider never told), amount_mismatch.',
    labelNames: ['problem'],
    registers: [registry],
  });
  for (const problem of ['given_up', 'amount_mismatch']) topUpProblems.inc({ problem }, 0);
  let openStreams = () => 0;
  new Gauge({
    name: 'events_streams_open',
    help: 'Event streams open on this instance.',
    registers: [registry],
    collect() {
      this.set(openStreams());
    },
  });
  return {
    registry,
    countStreamsWith: (count) => (openStreams = count),
    countTopUpProblem: (problem) => topUpProblems.inc({ problem }),
    countRateLimited: (rateClass) => rateLimited.inc({ class: rateClass }),
    observeRateLimiter: (rateClass, seconds) => limiter.observe({ class: rateClass }, seconds),
    observeRequest(method, route, status, durationMs) {
      requests.inc({ method, route, status });
      duration.observe({ method, route }, durationMs / 1000);
    },
  };
}
