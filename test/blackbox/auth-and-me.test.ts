import { describe, expect, it } from 'vitest';
import { createCoOrderClient } from '../../openapi/client.js';
import { useServer } from '../support/use-server.js';
import { expectLedgerBalanced, signUp } from '../support/world.js';

const app = useServer();

describe('dev login and /users/me', () => {
  it('creates the user on first login with a 50,000 KRW grant written to the ledger', async () => {
    const { client, user } = await signUp(app.server.baseUrl, 'Minji');
    expect(user.credit).toBe(50_000);
    const me = await client.GET('/users/me');
    expect(me.response.status).toBe(200);
    expect(me.data).toEqual(user);
    expect(me.response.headers.get('etag')).toMatch(/^"v\d+"$/);
    const ledger = await client.GET('/users/me/ledger');
    expect(ledger.data!.items).toMatchObject([{ kind: 'signup_grant', amount: 50_000, balance_after: 50_000 }]);
    await expectLedgerBalanced(app.db.sql);
  });

  it('logs the same user in again without a second grant', async () => {
    const anonymous = createCoOrderClient(app.server.baseUrl);
    const body = { email: `again-${Date.now()}@example.com`, name: 'Again' };
    const first = await anonymous.POST('/auth/dev/token', { body });
    const second = await anonymous.POST('/auth/dev/token', { body: { ...body, email: body.email.toUpperCase() } });
    expect(second.data!.user.id).toBe(first.data!.user.id);
    expect(second.data!.user.credit).toBe(50_000);
    const [{ grants }] = await app.db.sql`SELECT count(*)::int AS grants FROM credit_ledger WHERE user_id = ${first.data!.user.id}`;
    expect(grants).toBe(1);
  });

  it('answers 304 to If-None-Match with the current ETag', async () => {
    const { client } = await signUp(app.server.baseUrl);
    const me = await client.GET('/users/me');
    const etag = me.response.headers.get('etag')!;
    const again = await client.GET('/users/me', { headers: { 'If-None-Match': etag } });
    expect(again.response.status).toBe(304);
  });
});
