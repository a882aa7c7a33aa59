import type { CpuSplit } from './processes.js';

export interface Row {
  scenario: string;
  rps?: number;
  /** Answers in the measured run (for CPU per request). */
  requests?: number;
  p50?: number;
  p99?: number;
  /** Answers other than the scenario's expected status(es). */
  unexpected?: number;
  errors?: number;
  rssMb?: number;
  ratio?: string;
  target?: string;
  met?: boolean;
  cpu?: CpuSplit;
  note?: string;
}

const num = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function table(rows: Row[]): string {
  const header = [
    'scenario',
    'req/s',
    'p50 ms',
    'p99 ms',
    'non-2xx¹',
    'errors',
    'server RSS MB',
    'ratio to ceiling',
    'target',
    'met',
    'CPU % srv/pg/gen²',
  ];
  const lines = rows.map((r) => [
    r.scenario,
    num(r.rps),
    num(r.p50, r.p50 !== undefined && r.p50 < 10 ? 1 : 0),
    num(r.p99, r.p99 !== undefined && r.p99 < 10 ? 1 : 0),
    num(r.unexpected),
    num(r.errors),
    num(r.rssMb),
    r.ratio ?? '',
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'yes' : '**no**',
    r.cpu ? `${r.cpu.server}/${r.cpu.postgres}/${r.cpu.loadgen}` : '',
  ]);
  const out = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...lines.map((l) => `| ${l.join(' | ')} |`)];
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.scenario}: ${r.note}`);
  return [
    ...out,
    '',
    "¹ answers other than the scenario's expected status (201 create, 304 get-304, 200 otherwise; mixed: 200/201/304).",
    "² CPU over the measured window, in % of one core: the server process / the database (the bench database's backends and the server's WAL writer, checkpointer, background writer) / the load generator (this process, or pgbench's client not counted). 200 = both cores; the rest of the machine's load is other processes.",
    ...(notes.length ? ['', ...notes] : []),
  ].join('\n');
}

/** Server CPU per answered request in µs, from the measured window (undefined without one). */
export function cpuPerRequestUs(row: Row | undefined): number | undefined {
  if (!row?.cpu?.serverS || !row.requests) return undefined;
  return (row.cpu.serverS * 1e6) / row.requests;
}

export interface FloorPair {
  scenario: string;
  /** Each round's service run and floor run (--floor-rounds: more than one, interleaved). */
  rounds: { service?: Row; floor?: Row }[];
  /** The ratio the team works towards: service CPU per request ≤ target × the floor's. */
  target: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length
    ? sorted.length % 2
      ? sorted[(sorted.length - 1) / 2]
      : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2
    : undefined;
};

/**
 * The service's server CPU per request beside the floor's (the same statements on the bare
 * stack, loadtest/floor-server.ts), and their ratio: what the service's framework and design cost.
 * Over several rounds, the medians, and the ratio of each round.
 */
export function floorTable(pairs: FloorPair[], judge: boolean): string {
  const header = ['scenario', 'service µs CPU/req', 'floor µs CPU/req', 'service ÷ floor', 'each round', 'target', 'met'];
  const lines = pairs.map(({ scenario, rounds, target }) => {
    const measured = rounds.map(({ service, floor }) => ({ s: cpuPerRequestUs(service), f: cpuPerRequestUs(floor) }));
    const ratios = measured.flatMap(({ s, f }) => (s !== undefined && f !== undefined ? [s / f] : []));
    const s = median(measured.flatMap(({ s }) => (s === undefined ? [] : [s])));
    const f = median(measured.flatMap(({ f }) => (f === undefined ? [] : [f])));
    const ratio = median(ratios);
    return [
      scenario,
      num(s),
      f === undefined ? '– (not run)' : num(f),
      ratio === undefined ? '' : `${num(ratio, 2)}×`,
      ratios.map((r) => `${num(r, 2)}×`).join(', '),
      `≤ ${num(target, 1)}×`,
      !judge || ratio === undefined ? '' : ratio <= target ? 'yes' : '**no**',
    ];
  });
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...lines.map((l) => `| ${l.join(' | ')} |`),
    '',
    "Server CPU seconds over the measured window ÷ requests answered in it; with several rounds, the medians and the median of the rounds' ratios. The floor answers the same requests with the very statements the service sent for them (captured at the start of this run), on hono + @hono/node-server + postgres.js alone.",
  ].join('\n');
}
