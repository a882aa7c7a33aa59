import { createRoute, z } from '@hono/zod-openapi';
import { headers, jsonResponse, problems, problemsWithoutDatabase } from '../http/openapi.js';

const StatusSchema = z
  .object({ status: z.enum(['ok']).openapi({ example: 'ok' }) })
  .openapi('Status', { description: 'The answer of a health or readiness probe.' });

const MetricsTextSchema = z.string().openapi('MetricsText', {
  description: 'Prometheus text exposition format 0.0.4.',
  example:
    '# HELP http_requests_total HTTP requests by method, route and status.\n# TYPE http_requests_total counter\nhttp_requests_total{method="GET",route="/health",status="200"} 3\n',
});

export const healthRoute = createRoute({
  method: 'get',
  path: '/health',
  operationId: 'getHealth',
  tags: ['operations'],
  summary: 'Liveness',
  description: 'The process is up and serving HTTP. Does not touch the database.',
  security: [],
  responses: { 200: jsonResponse('Alive.', StatusSchema), ...problemsWithoutDatabase() },
});

export const readyRoute = createRoute({
  method: 'get',
  path: '/ready',
  operationId: 'getReady',
  tags: ['operations'],
  summary: 'Readiness',
  description: 'The database answers: safe to send traffic. 503 with Retry-After when it does not.',
  security: [],
  responses: {
    200: jsonResponse('Ready.', StatusSchema),
    ...problems(),
  },
});

export const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  operationId: 'getMetrics',
  tags: ['operations'],
  summary: 'Prometheus metrics',
  description:
    'Request counts and durations by route, and Node.js process metrics, in Prometheus text format. ' +
    "For the operator's scraper only: send `Authorization: Bearer <METRICS_TOKEN>`; without METRICS_TOKEN set, nobody gets them (401).",
  security: [{ metricsToken: [] }],
  responses: {
    200: {
      description: 'Metrics (Prometheus text exposition format 0.0.4).',
      headers: headers.requestId,
      content: {
        'text/plain': {
          schema: MetricsTextSchema,
        },
      },
    },
    ...problemsWithoutDatabase(401),
  },
});
