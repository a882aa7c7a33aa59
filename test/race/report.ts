/** The summary table (printed, and written as JSON and markdown under race-results/). */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AuditResult } from './audit.js';
import type { ScenarioSummary } from './stats.js';

export interface ScenarioReport extends ScenarioSummary {
  audit?: AuditResult;
}

export interface HarnessReport {
  startedAt: string;
  durationS: number;
  mode: 'own servers' | 'external servers';
  target: string[];
  roundsPerScenario: number;
  concurrency: number;
  users: number;
  scenarios: ScenarioReport[];
  /** Own servers: each instance must stop within its grace period on SIGTERM, after everything. */
  shutdown?: string[];
  anomalies: number;
}

const otherStatuses = (s: ScenarioSummary) =>
  Object.entries(s.statuses)
    .filter(([status]) => status !== '412' && status !== '409')
    .map(([status, n]) => `${status}×${n}`)
    .join(' ');

export function summaryTable(report: HarnessReport): string {
  const header = '| # | scenario | rounds | wins | 412 | 409 | replays | other statuses | anomalies | p50 ms | p99 ms | max ms | s |';
  const rule = '|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|';
  const rows = report.scenarios.map((s) =>
    s.skipped
      ? `| ${s.id} | ${s.name} | skipped: ${s.skipped} |||||||||||`
      : `| ${s.id} | ${s.name} | ${s.rounds} | ${s.wins} | ${s.stale412} | ${s.conflict409} | ${s.replays} | ${otherStatuses(s)} | ${s.anomalies} | ${s.p50Ms} | ${s.p99Ms} | ${s.maxMs} | ${s.durationS} |`,
  );
  return [header, rule, ...rows].join('\n');
}

export function markdown(report: HarnessReport): string {
  const lines = [
    `# Race and fault harness — ${report.startedAt}`,
    '',
    `${report.mode} (${report.target.join(', ')}), ${report.roundsPerScenario} rounds per scenario, ` +
      `${report.concurrency} rounds at a time, ${report.users} users, ${report.durationS} s. ` +
      `**Anomalies: ${report.anomalies}.**`,
    '',
    summaryTable(report),
    '',
  ];
  if (report.shutdown) lines.push(`Graceful shutdown: ${report.shutdown.join('; ')}`, '');
  for (const s of report.scenarios) {
    if (s.skipped) continue;
    lines.push(`## ${s.id}. ${s.name}`, '');
    if (Object.keys(s.details).length)
      lines.push(
        `- details: ${Object.entries(s.details)
          .map(([k, v]) => `${k} ${v}`)
          .join('; ')}`,
      );
    lines.push(
      `- statuses: ${Object.entries(s.statuses)
        .map(([k, v]) => `${k}×${v}`)
        .join(' ')} (${s.requests} answered requests)`,
    );
    if (s.audit) {
      lines.push(
        `- audit (${s.audit.mode}): ${Object.entries(s.audit.checked)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ')}` + (s.audit.skipped.length ? `; skipped: ${s.audit.skipped.join(', ')}` : ''),
      );
    }
    for (const a of s.anomalyExamples) lines.push(`- ANOMALY: ${a.replace(/\n/g, ' ')}`);
    lines.push('');
  }
  return lines.join('\n');
}

export async function writeReport(report: HarnessReport, dir: string): Promise<{ json: string; md: string }> {
  await mkdir(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const json = path.join(dir, `race-${stamp}.json`);
  const md = path.join(dir, `race-${stamp}.md`);
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(md, markdown(report));
  await writeFile(path.join(dir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(dir, 'latest.md'), markdown(report));
  return { json, md };
}
