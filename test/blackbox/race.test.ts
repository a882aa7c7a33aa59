/**
 * Under races and faults every invariant of test/race/audit.ts holds (balances match ledgers,
 * money is conserved, one charge per user per order, one effect per key, every payment the
 * provider captured credited exactly once and nothing else): the harness of
 * test/race/, small (every scenario, 200 rounds each), against two real instances of the service
 * on a database of its own, audited after each scenario. `npm run race -- --rounds 10000` runs the
 * same code big.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runHarness, summaryTable, type HarnessReport } from '../race/harness.js';
import { SCENARIOS } from '../race/scenarios.js';

const ROUNDS = 200;

let report: HarnessReport;

beforeAll(async () => {
  report = await runHarness({
    rounds: ROUNDS,
    serverUrl: inject('serverUrl'),
    resultsDir: null,
    log: (line) => {
      if (process.env.RACE_VERBOSE) console.log(line);
    },
  });
}, 600_000);

afterAll(() => {
  if (report) console.log(`race harness, ${ROUNDS} rounds per scenario, ${report.durationS} s:\n${summaryTable(report)}`);
});

describe(`race and fault harness (${ROUNDS} rounds per scenario, two instances)`, () => {
  it.each(SCENARIOS.map((s) => [s.id, s.name] as const))('scenario %i (%s): every round decided, zero anomalies', (id) => {
    const scenario = report.scenarios.find((s) => s.id === id)!;
    expect(scenario.skipped).toBeUndefined();
    expect(scenario.anomalyExamples).toEqual([]);
    expect(scenario.anomalies).toBe(0);
    expect(scenario.rounds).toBe(ROUNDS);
    expect(scenario.wins).toBe(ROUNDS);
    expect(scenario.audit?.mode).toBe('sql');
    expect(scenario.audit?.violations).toEqual([]);
  });

  it('leaves both instances able to stop cleanly on SIGTERM (exit 0 within the grace period)', () => {
    expect(report.shutdown).toHaveLength(2);
    expect(report.shutdown!.filter((line) => line.startsWith('ANOMALY'))).toEqual([]);
    expect(report.anomalies).toBe(0);
  });

  it('exercised the races and faults it claims to', () => {
    const by = (id: number) => report.scenarios.find((s) => s.id === id)!;
    // Losers of the races got 412s; duplicates and retries were answered by replays.
    expect(by(1).stale412 + by(1).conflict409).toBe(ROUNDS);
    expect(by(2).stale412 + by(2).conflict409).toBeGreaterThan(ROUNDS);
    expect(by(3).replays).toBeGreaterThan(ROUNDS);
    expect(by(4).statuses.aborted).toBeGreaterThan(ROUNDS);
    // Both sides of the expiry boundary won sometimes.
    expect(by(5).details['join won']).toBeGreaterThan(0);
    expect(ROUNDS - (by(5).details['join won'] ?? 0)).toBeGreaterThan(0);
    // A process really died under load, and the database really went away.
    expect(by(6).details.SIGKILLs).toBeGreaterThan(0);
    expect(by(6).statuses.network).toBeGreaterThan(0);
    expect(by(7).details['connections terminated']).toBeGreaterThan(0);
    expect(by(7).statuses['503']).toBeGreaterThan(0);
    // The store's answer and a cancel each won sometimes; riders raced and lost; one deliver of two replayed.
    for (const [id, action] of [
      [8, 'accept'],
      [10, 'reject'],
    ] as const) {
      expect(by(id).details[`${action} won`]).toBeGreaterThan(0);
      expect(by(id).details['cancel won']).toBeGreaterThan(0);
    }
    expect(by(9).stale412).toBeGreaterThanOrEqual(ROUNDS);
    expect(by(9).details.delivered).toBe(ROUNDS);
    expect(by(9).replays).toBeGreaterThanOrEqual(ROUNDS);
    // Both sides of the answering deadline won sometimes; every duplicate reject was answered once and replayed.
    expect(by(11).details['accept won']).toBeGreaterThan(0);
    expect(ROUNDS - (by(11).details['accept won'] ?? 0)).toBeGreaterThan(0);
    expect(by(12).details.rejected).toBe(ROUNDS);
    expect(by(12).replays).toBeGreaterThanOrEqual(2 * ROUNDS);
    // Instances really died during deliveries; every order ended delivered or, given up, picked up.
    expect(by(13).details.SIGKILLs).toBeGreaterThan(0);
    expect(by(13).statuses.network).toBeGreaterThan(0);
    expect(
      (by(13).details.delivered ?? 0) +
        (by(13).details['given up, still picked up'] ?? 0) +
        (by(13).details['given up, yet delivered (the answer was lost)'] ?? 0),
    ).toBe(ROUNDS);
    // Money in: two faults in ten capture nothing; the rest were credited, some only by a settler
    // (every confirm 202); confirms were answered 202 and 402, and copies under one key replayed.
    const topUps = by(14);
    expect(topUps.details['not captured: failed, nothing credited']).toBe(ROUNDS / 5);
    expect(topUps.details['captured: credited once']).toBe(ROUNDS - ROUNDS / 5);
    expect(topUps.details['left processing: a settler finished it']).toBeGreaterThan(0);
    expect(topUps.statuses['202']).toBeGreaterThan(0);
    expect(topUps.statuses['402']).toBeGreaterThan(0);
    expect(topUps.replays).toBeGreaterThan(ROUNDS);
    expect(topUps.details['webhooks delivered']).toBeGreaterThan(ROUNDS / 2);
  });
});
