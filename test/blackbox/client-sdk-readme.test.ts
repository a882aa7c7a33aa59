/**
 * The README's "Client SDK" section: its code is test/sdk/client-sdk-example.ts (type-checked by
 * tsc), character for character but for the import path and the line that runs it, and it works
 * against the real server: login, create, join with If-Match and an Idempotency-Key, and a join
 * on a stale ETag handled through the 412's `current` order.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { demo } from '../sdk/client-sdk-example.js';
import { demoLive } from '../sdk/events-example.js';
import { useServer } from '../support/use-server.js';
import { expectMoneyConserved } from '../support/world.js';

const app = useServer();

/** The README's section `heading` shows exactly the code of `exampleFile` (its README region), then the line that runs `run`. */
async function expectReadmeShows(heading: string, exampleFile: string, run: string) {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith(heading));
  expect(section, `README has a "## ${heading}" section`).toBeDefined();
  const block = /```ts\n([\s\S]*?)```/.exec(section!)?.[1];
  expect(block, 'the section has a ```ts block').toBeDefined();

  const example = await readFile(new URL(`../sdk/${exampleFile}`, import.meta.url), 'utf8');
  const region = /\/\/ README:begin\n([\s\S]*?)\/\/ README:end\n/.exec(example)![1];
  const pasted = region.replace("from '../../openapi/client.js'", "from './openapi/client.js'");
  expect(block).toBe(`${pasted}\nawait ${run}(process.env.CO_ORDER_URL ?? 'http://127.0.0.1:3000');\n`);
}

describe('README: Client SDK', () => {
  it('shows exactly the code of test/sdk/client-sdk-example.ts', async () => {
    await expectReadmeShows('Client SDK', 'client-sdk-example.ts', 'demo');
  });

  it('runs: Minji opens, Junho joins, Seoyeon is told by the 412 that she is too late; the store accepts, a rider delivers', async () => {
    const { order, matched, late, delivered } = await demo(app.server.baseUrl);
    expect(order).toMatchObject({ status: 'pending', version: 1, joiner_id: null });
    expect(matched).toMatchObject({ id: order.id, status: 'matched', version: 2 });
    expect(matched!.shares.creator + matched!.shares.joiner!).toBe(matched!.menu_total + matched!.delivery_tip);
    expect(late).toBeUndefined();
    // Seoyeon's 412 changed nothing: the order is still Junho's, and only two shares were charged.
    const [row] = await app.db.sql`SELECT status, joiner_id, version FROM orders WHERE id = ${order.id}`;
    expect(row).toEqual({ status: 'completed', joiner_id: matched!.joiner_id, version: 6 });
    expect(delivered).toMatchObject({ id: order.id, status: 'completed', version: 6 });
    const [{ charges }] = await app.db.sql`SELECT count(*)::int AS charges FROM credit_ledger WHERE order_id = ${order.id}`;
    expect(charges).toBe(2);
    const [{ paid }] = await app.db.sql`SELECT sum(amount)::int AS paid FROM store_ledger WHERE order_id = ${order.id}`;
    expect(paid).toBe(matched!.menu_total + matched!.delivery_tip);
    await expectMoneyConserved(app.db.sql);
  });
});

describe('README: Live status', () => {
  it('shows exactly the code of test/sdk/events-example.ts', async () => {
    await expectReadmeShows('Live status', 'events-example.ts', 'demoLive');
  });

  it('runs: Minji follows her order, Junho joins with the ETag her stream carried', async () => {
    const changes = await demoLive(app.server.baseUrl);
    expect(changes.map((c) => [c.event, c.data.status, c.data.version, c.data.etag])).toEqual([
      ['order.created', 'pending', 1, '"v1"'],
      ['order.matched', 'matched', 2, '"v2"'],
    ]);
    expect(new Set(changes.map((c) => c.data.order_id)).size).toBe(1);
    await expectMoneyConserved(app.db.sql);
  });
});
