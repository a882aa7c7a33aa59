import { createRoute, z } from '@hono/zod-openapi';
import { DEFAULTS } from '../config.js';
import { TEXT_RULE } from '../domain/text.js';
import { jsonResponse, plainText, problems } from '../http/openapi.js';
import { UserSchema } from '../users/routes.js';

export const DevTokenInput = z
  .strictObject({
    email: z.string().trim().toLowerCase().email().max(254).openapi({ example: 'minji@example.com' }),
    name: plainText(100).openapi({ description: `Plain text: ${TEXT_RULE}; spaces are collapsed and trimmed.`, example: '김민지' }),
    staff_of: z
      .array(z.string().uuid())
      .max(20)
      .optional()
      .openapi({
        description: 'Make the user staff of these stores (granted, never revoked here; 422 for an unknown store).',
        example: ['0d7e2b1a-3c4f-4a5b-8c6d-7e8f9a0b1c2d'],
      }),
    rider: z
      .boolean()
      .optional()
      .openapi({ description: 'Make the user a rider (true grants; false or absent changes nothing).', example: true }),
  })
  .openapi('DevTokenInput', {
    description: 'Who to sign in as; the email identifies the user (case-insensitively). In development, roles may be granted here too.',
  });

export const TokenSchema = z
  .object({
    access_token: z.string().openapi({
      description: 'Send as `Authorization: Bearer <access_token>`.',
      example: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIzYjhmIn0.c2lnbmF0dXJl',
    }),
    token_type: z.literal('Bearer').openapi({ example: 'Bearer' }),
    expires_in: z.number().int().openapi({ description: 'Seconds until the token expires.', example: DEFAULTS.TOKEN_TTL_SECONDS }),
    user: UserSchema,
  })
  .openapi('Token', { description: 'A bearer token and the user it signs in.' });

export const devTokenRoute = createRoute({
  method: 'post',
  path: '/auth/dev/token',
  operationId: 'createDevToken',
  tags: ['auth'],
  summary: 'Development login',
  description:
    'Signs in by email with no password: development and testing only (404 in production or when ' +
    `AUTH_DEV_LOGIN=false). The first login creates the user with the sign-up grant (${DEFAULTS.SIGNUP_GRANT_KRW.toLocaleString('en-US')} KRW by default).`,
  security: [],
  request: { body: { required: true, content: { 'application/json': { schema: DevTokenInput } } } },
  responses: {
    200: jsonResponse('A bearer token for the user.', TokenSchema),
    ...problems(400, 404, 409, 413, 415, 422),
  },
});
