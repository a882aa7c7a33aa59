import { purgeSignInLeftovers } from '../auth/repository.js';
import { REFRESH_RETRY_GRACE_SECONDS } from '../auth/sessions.js';
import type { Db } from '../db/database.js';

/**
 * Forgets the pairs kept for a refresh's retry once its grace is over (so they exist seconds, not
 * hours), and deletes expired refresh tokens and abandoned logins.
 */
export function runOnce(db: Db) {
  return purgeSignInLeftovers(db, REFRESH_RETRY_GRACE_SECONDS);
}
