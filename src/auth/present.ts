import type { User } from '../db/schema.js';
import { presentUser } from '../users/present.js';
import type { SessionTokens } from './sessions.js';

export function presentSession(tokens: SessionTokens, user: User) {
  return {
    access_token: tokens.access_token,
    token_type: tokens.token_type,
    expires_in: tokens.expires_in,
    refresh_token: tokens.refresh_token,
    user: presentUser(user),
  };
}
