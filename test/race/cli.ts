/**
 * npm run race -- --rounds N [--scenarios 1,2,3] [--url URL[,URL2]] [--concurrency C] [--users U] [--keep-db]
 *
 * Without --url: a fresh database on DATABASE_URL's server (or an embedded PostgreSQL) and two
 * service instances of this checkout. With --url: the given server(s), over HTTP only (the
 * scenarios needing process or database control are skipped and reported as such).
 * Exits 1 when any anomaly was found.
 */
import { parseArgs } from 'node:util';
import { runHarness, summaryTable } from './harness.js';
import { killAllInstances } from './instance.js';
import { SCENARIOS } from './scenarios.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '200' },
    scenarios: { type: 'string' },
    url: { type: 'string' },
    concurrency: { type: 'string', default: '8' },
    users: { type: 'string', default: '48' },
    'keep-db': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log('npm run race -- --rounds N [--scenarios 1,2,3] [--url URL[,URL2]] [--concurrency C] [--users U] [--keep-db]');
  process.exit(0);
}

const positive = (name: string, text: string | undefined) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer, not ${text}`);
    process.exit(2);
  }
  return n;
};

const scenarios = values.scenarios?.split(',').map((s) => positive('scenarios', s.trim()));
if (scenarios?.some((s) => s > SCENARIOS.length)) {
  console.error(`--scenarios takes numbers from 1 to ${SCENARIOS.length}`);
  process.exit(2);
}
const users = positive('users', values.users);
if (users < 20) {
  console.error('--users must be at least 20 (scenario 2 races up to 16 joiners)');
  process.exit(2);
}

// Interrupted: the service processes must not outlive the harness.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllInstances();
    process.exit(130);
  });
}

const report = await runHarness({
  rounds: positive('rounds', values.rounds),
  scenarios,
  urls: values.url
    ?.split(',')
    .map((u) => u.trim())
    .filter(Boolean),
  concurrency: positive('concurrency', values.concurrency),
  users,
  keepDatabaseOnFailure: values['keep-db'],
  log: (line) => console.log(line),
});

console.log(`\n${summaryTable(report)}\n`);
console.log(`${report.anomalies} anomalies in ${report.durationS} s.`);
if (report.files) console.log(`Report: ${report.files.md} (and .json)`);
process.exit(report.anomalies > 0 ? 1 : 0);
