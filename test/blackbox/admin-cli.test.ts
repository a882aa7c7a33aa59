/**
 * The operator's role command (npm run admin), run as a real process against the test database,
 * and the roles it grants seen over HTTP by the running service; and the demo accounts the seed
 * gives each store and the riders.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createCoOrderClient } from '../../openapi/client.js';
import { useServer } from '../support/use-server.js';
import { JEONJU, signUp } from '../support/world.js';

const app = useServer();
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `npm run admin -- ...args` (as tsx src/ops/admin.ts): its exit code and output. */
async function admin(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', ['--import', 'tsx', 'src/ops/admin.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_URL: app.db.url, NODE_ENV: 'test' },
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, out: failed.stdout, err: failed.stderr };
  }
}

const storeId = async () => (await app.db.sql<{ id: string }[]>`SELECT id FROM stores WHERE name = '교촌치킨 전북대점'`)[0].id;

describe('npm run admin', () => {
  it('grants and revokes the rider role, which the service honours at once', async () => {
    const user = await signUp(app.server.baseUrl, 'Would Ride');
    const deliveries = () => user.client.GET('/deliveries', { params: { query: JEONJU } });
    expect((await deliveries()).response.status).toBe(403);
    expect(await admin('grant-rider', user.user.email!)).toMatchObject({ code: 0, out: `${user.user.email} is a rider\n` });
    expect((await deliveries()).response.status).toBe(200);
    expect((await admin('list')).out).toContain(`${user.user.email}\trider`);
    expect((await admin('revoke-rider', user.user.email!)).code).toBe(0);
    expect((await deliveries()).response.status).toBe(403);
    expect((await admin('revoke-rider', user.user.email!)).code).toBe(1);
    // By id too: a person whose identity provider gave no verified email has no email to name.
    expect((await admin('grant-rider', user.user.id)).code).toBe(0);
    expect((await deliveries()).response.status).toBe(200);
  });

  it('grants and revokes staff of a store, by the email the user signed in with', async () => {
    const user = await signUp(app.server.baseUrl, 'Would Cook');
    const store = await storeId();
    const queue = () => user.client.GET('/stores/{storeId}/orders', { params: { path: { storeId: store }, query: {} } });
    expect((await queue()).response.status).toBe(403);
    expect((await admin('grant-staff', user.user.email!.toUpperCase(), store)).code).toBe(0);
    expect((await queue()).response.status).toBe(200);
    expect((await admin('list')).out).toContain(`${user.user.email}\tstaff\t${store}\t교촌치킨 전북대점`);
    expect((await admin('revoke-staff', user.user.email!, store)).code).toBe(0);
    expect((await queue()).response.status).toBe(403);
  });

  it('refuses an unknown user or store (exit 1) and a malformed command (exit 2), changing nothing', async () => {
    const user = await signUp(app.server.baseUrl, 'Nobody Yet');
    const before = await app.db.sql`SELECT count(*)::int AS n FROM store_staff`;
    expect(await admin('grant-rider', 'never-signed-in@example.com')).toMatchObject({ code: 1 });
    expect((await admin('grant-staff', user.user.email!, '00000000-0000-4000-8000-000000000000')).code).toBe(1);
    expect((await admin('grant-staff', user.user.email!, 'not-a-store')).code).toBe(2);
    expect((await admin('promote', user.user.email!)).code).toBe(2);
    expect((await admin()).code).toBe(2);
    expect(await app.db.sql`SELECT count(*)::int AS n FROM store_staff`).toEqual(before);
  });
});

describe('the demo seed', () => {
  it('gives each demo store a staff account and adds two riders, signed in with the development login', async () => {
    const stores = await app.db.sql<{ id: string; staff: number }[]>`
      SELECT s.id, (SELECT count(*)::int FROM store_staff ss WHERE ss.store_id = s.id) AS staff FROM stores s
`;
    expect(stores.length).toBeGreaterThan(0);
    expect(stores.every((s) => s.staff === 1)).toBe(true);
    const anonymous = createCoOrderClient(app.server.baseUrl);
    const staff = await anonymous.POST('/auth/dev/token', { body: { email: 'staff1@demo.co-order.dev', name: 'Staff' } });
    const client = createCoOrderClient(app.server.baseUrl, staff.data!.access_token);
    const first = await app.db.sql<{ store_id: string }[]>`
      SELECT store_id FROM store_staff ss JOIN users u ON u.id = ss.user_id WHERE u.email = 'staff1@demo.co-order.dev'`;
    expect(
      (await client.GET('/stores/{storeId}/orders', { params: { path: { storeId: first[0].store_id }, query: {} } })).response.status,
    ).toBe(200);
    for (const email of ['rider1@demo.co-order.dev', 'rider2@demo.co-order.dev']) {
      const rider = await anonymous.POST('/auth/dev/token', { body: { email, name: 'Rider' } });
      const riding = createCoOrderClient(app.server.baseUrl, rider.data!.access_token);
      expect((await riding.GET('/deliveries', { params: { query: JEONJU } })).response.status).toBe(200);
    }
  });
});
