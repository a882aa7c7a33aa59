/**
 * What a scenario saw: rounds, wins, every status by count, replays, latencies, and anomalies.
 * `record()` applies the checks every single answer must pass, whatever the scenario:
 * no hang past the bound, no 5xx (but the 503 + Retry-After of a database fault where the
 * scenario allows it), no failed connection (but where the scenario kills a process), a 409 busy
 * always with Retry-After, and an ETag that names the version of the order it came with.
 */
import { etagOf, is2xx, isBusy, REQUEST_TIMEOUT_MS, type Answer } from './http.js';

const KEPT_ANOMALIES = 50;

export interface ScenarioPolicy {
  /** 503 with Retry-After is an expected answer (the database fault scenario). */
  allow503?: boolean;
  /** Failed connections are expected (a process is killed). */
  allowNetworkErrors?: boolean;
}

/**
 * The instances' DB_CONNECT_TIMEOUT_S: the longest a request waits for a database connection.
 * A 503 must come within two such waits (an action looks its key up, then opens its transaction)
 * and a second of slack: failing fast, never hanging.
 */
export const DB_CONNECT_TIMEOUT_S = 3;
export const FAIL_FAST_MS = (2 * DB_CONNECT_TIMEOUT_S + 1) * 1000;

export interface ScenarioSummary {
  id: number;
  name: string;
  skipped?: string;
  rounds: number;
  wins: number;
  stale412: number;
  conflict409: number;
  replays: number;
  statuses: Record<string, number>;
  details: Record<string, number>;
  anomalies: number;
  anomalyExamples: string[];
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  durationS: number;
}

export class ScenarioStats {
  rounds = 0;
  wins = 0;
  replays = 0;
  readonly statuses = new Map<string, number>();
  readonly details = new Map<string, number>();
  readonly latencies: number[] = [];
  anomalyCount = 0;
  readonly anomalyExamples: string[] = [];
  private readonly started = performance.now();

  constructor(
    readonly id: number,
    readonly name: string,
    readonly policy: ScenarioPolicy = {},
  ) {}

  anomaly(message: string): void {
    this.anomalyCount++;
    if (this.anomalyExamples.length < KEPT_ANOMALIES) this.anomalyExamples.push(message);
  }

  count(detail: string, by = 1): void {
    this.details.set(detail, (this.details.get(detail) ?? 0) + by);
  }

  max(detail: string, value: number): void {
    this.details.set(detail, Math.max(this.details.get(detail) ?? 0, Math.round(value)));
  }

  /** Counts one answer and checks what every answer must satisfy; returns it for chaining. */
  record<A extends Answer<unknown>>(answer: A, what: string): A {
    const key = String(answer.status);
    this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1);
    if (answer.status === 'aborted') return answer;
    this.latencies.push(answer.ms);
    if (answer.replayed) this.replays++;
    const where = `${what} via instance ${answer.instance}`;
    if (answer.status === 'timeout') {
      this.anomaly(`${where}: no answer within ${REQUEST_TIMEOUT_MS} ms (hang)`);
    } else if (answer.status === 'network') {
      if (!this.policy.allowNetworkErrors) this.anomaly(`${where}: connection failed (${answer.failure})`);
    } else if (answer.status >= 500) {
      if (!(this.policy.allow503 && answer.status === 503)) {
        this.anomaly(`${where}: ${answer.status} ${answer.code ?? ''} ${JSON.stringify(answer.body)?.slice(0, 300)}`);
      } else if (!answer.retryAfter) {
        this.anomaly(`${where}: 503 without Retry-After`);
      } else if (answer.ms > FAIL_FAST_MS) {
        this.anomaly(`${where}: 503 only after ${Math.round(answer.ms)} ms (not failing fast)`);
      }
    } else if (isBusy(answer) && !answer.retryAfter) {
      this.anomaly(`${where}: 409 busy without Retry-After`);
    } else if (is2xx(answer.status)) {
      const version = (answer.body as { version?: unknown } | undefined)?.version;
      if (typeof version === 'number' && answer.etag !== etagOf(version)) {
        this.anomaly(`${where}: ETag ${answer.etag} does not name version ${version} of the body`);
      }
    }
    return answer;
  }

  summary(): ScenarioSummary {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0);
    const statuses = Object.fromEntries([...this.statuses].sort(([a], [b]) => a.localeCompare(b)));
    return {
      id: this.id,
      name: this.name,
      rounds: this.rounds,
      wins: this.wins,
      stale412: this.statuses.get('412') ?? 0,
      conflict409: this.statuses.get('409') ?? 0,
      replays: this.replays,
      statuses,
      details: Object.fromEntries(this.details),
      anomalies: this.anomalyCount,
      anomalyExamples: [...this.anomalyExamples],
      requests: sorted.length,
      p50Ms: round1(pct(50)),
      p99Ms: round1(pct(99)),
      maxMs: round1(sorted.at(-1) ?? 0),
      durationS: round1((performance.now() - this.started) / 1000),
    };
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;
