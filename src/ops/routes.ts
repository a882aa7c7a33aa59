import { createRoute, z } from '@hono/zod-openapi';
import { problems } from '../http/openapi.js';

const StatusSchema = z.object({ status: z.enum(['ok']) }).openapi('Status');

export const healthRoute = createRoute({
  method: 'get',
  path: '/health',
  operationId: 'getHealth',
  tags: ['operations'],
  summary: 'Liveness',
  description: 'The process is up and serving HTTP. Does not touch the database.',
  security: [],
  responses: { 200: { description: 'Alive.', content: { 'application/json': { schema: StatusSchema } } } },
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
    200: { description: 'Ready.', content: { 'application/json': { schema: StatusSchema } } },
    ...problems(),
  },
});

export const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  operationId: 'getMetrics',
  tags: ['operations'],
  summary: 'Prometheus metrics',
  description: 'Request counts and durations by route, and Node.js process metrics, in Prometheus text format.',
  security: [],
  responses: {
    200: { description: 'Metrics.', content: { 'text/plain': { schema: z.string() } } },
  },
});
