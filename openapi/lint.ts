/**
 * Lints the committed openapi/openapi.json with Redocly CLI (rules: redocly.yaml) and fails on any
 * problem: errors, warnings, and ignored ones alike (`redocly lint` alone exits 0 on warnings, and
 * a .redocly.lint-ignore.yaml would hide problems instead of turning a rule off in the open).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

interface LintProblem {
  ruleId: string;
  severity: 'error' | 'warn';
  message: string;
  location: { pointer?: string }[];
}
interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: LintProblem[];
}

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = createRequire(import.meta.url).resolve('@redocly/cli/bin/cli.js');
const run = spawnSync(
  process.execPath,
  [
    cli,
    'lint',
    'openapi/openapi.json',
    '--config',
    'redocly.yaml',
    '--format',
    'json',
    '--max-problems',
    '10000',
    '--lint-config',
    'error',
  ],
  {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
  },
);
let report: LintReport;
try {
  report = JSON.parse(run.stdout.slice(run.stdout.indexOf('{'))) as LintReport;
} catch {
  console.error(`redocly lint did not produce a report (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
  process.exit(1);
}
for (const problem of report.problems) {
  console.error(`${problem.severity.padEnd(5)} ${problem.ruleId}: ${problem.message} at ${problem.location[0]?.pointer ?? '?'}`);
}
const { errors, warnings, ignored } = report.totals;
if (errors || warnings || ignored || run.status !== 0) {
  console.error(`openapi/openapi.json: ${errors} errors, ${warnings} warnings, ${ignored} ignored (redocly exit ${run.status}).`);
  process.exit(1);
}
console.log('openapi/openapi.json lints clean (redocly, redocly.yaml): 0 errors, 0 warnings.');
