/**
 * The framework ceiling: a bare JSON endpoint on the service's HTTP stack (hono on
 * @hono/node-server), no middleware, no database. Whatever the service does per request comes on
 * top of this. Started by bench.ts as its own process: `PORT=… node --import tsx loadtest/ceiling-server.ts`.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
// About the size of a small order representation's envelope.
const payload = { id: '0190f5a4-8a7e-7c3d-9d1f-2b6c8e4a1f00', status: 'pending', version: 1, items: [] as unknown[] };
app.get('/ceiling', (c) => c.json(payload));

const port = Number(process.env.PORT ?? 3999);
serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => {
  console.log(JSON.stringify({ msg: 'listening', port: info.port }));
});
process.on('SIGTERM', () => process.exit(0));
