/**
 * What /metrics counted for one endpoint, by status: the http_requests_total samples for `method`
 * and `route` in Prometheus text (statuses never seen are absent).
 */
export function requestsByStatus(metricsText: string, method: string, route: string): Record<string, number> {
  const prefix = `http_requests_total{method="${method}",route="${route}",status="`;
  const counts: Record<string, number> = {};
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const [status, count] = line.slice(prefix.length).split('"} ');
    counts[status] = Number(count);
  }
  return counts;
}

/** The value of one sample in Prometheus text: `name`, with exactly `labels` (none by default); undefined when absent. */
export function metricValue(metricsText: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const rendered = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const prefix = rendered ? `${name}{${rendered}} ` : `${name} `;
  const line = metricsText.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}
