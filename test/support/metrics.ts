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
