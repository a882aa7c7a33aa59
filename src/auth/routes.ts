import { createRoute, z } from '@hono/zod-openapi';
import { problems } from '../http/openapi.js';
import { UserSchema } from '../users/routes.js';

export const DevTokenInput = z
  .strictObject({
    email: z.string().trim().toLowerCase().email().max(254).openapi({ example: 'minji@example.com' }),
    name: z.string().trim().min(1).max(100).openapi({ example: '김민지' }),
  })
  .openapi('DevTokenInput');

export const TokenSchema = z
  .object({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int().openapi({ example: 3600 }),
    user: UserSchema,
  })
  .openapi('Token');

export const devTokenRoute = createRoute({
  method: 'post',
  path: '/auth/dev/token',
  operationId: 'createDevToken',
  tags: ['auth'],
  summary: 'Development login',
  description:
    'Signs in by email with no password: development and testing only (404 in production or when ' +
    'AUTH_DEV_LOGIN=false). The first login creates the user with the 50,000 KRW sign-up grant.',
  security: [],
  request: { body: { required: true, content: { 'application/json': { schema: DevTokenInput } } } },
  responses: {
    200: { description: 'A bearer token for the user.', content: { 'application/json': { schema: TokenSchema } } },
    ...problems(400, 404, 413, 415),
  },
});
