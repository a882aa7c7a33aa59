/**
 * The co-order SDK: openapi-fetch typed by openapi/schema.d.ts, which is generated from the
 * committed openapi/openapi.json. Every black-box test talks to the server through it.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type CoOrderClient = Client<paths>;
export type Schemas = components['schemas'];

/** `redirect: 'manual'` to read a redirect (GET /auth/oidc/{provider}/authorize) rather than follow it. */
export function createCoOrderClient(baseUrl: string, token?: string, init: { redirect?: 'follow' | 'manual' } = {}): CoOrderClient {
  return createClient<paths>({
    baseUrl,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    ...(init.redirect ? { fetch: (request: Request) => fetch(request, { redirect: init.redirect }) } : {}),
  });
}
