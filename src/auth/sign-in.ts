import type { Db, Tx } from '../db/database.js';
import type { User } from '../db/schema.js';
import { isPlainText, normaliseText } from '../domain/text.js';
import { createUser, findUser, findUserByEmail } from '../users/repository.js';
import type { Identity } from './oidc.js';
import { findIdentityUser, linkIdentity } from './repository.js';
import { startSession, type SessionSettings, type SessionTokens } from './sessions.js';

const FALLBACK_NAME = 'Neighbour';

/** Another sign-in of the same person committed first: run again and find what it made. */
class LostRace extends Error {}

/**
 * The person at the provider, found by (provider, subject) or else by a verified email, or new;
 * and a new session for them. An unverified email is never used: it could name someone else.
 */
export async function signInWithIdentity(
  db: Db,
  settings: SessionSettings,
  identity: Identity,
  signupGrant: number,
): Promise<{ user: User; tokens: SessionTokens }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(async (tx) => {
        const user = await userFor(tx, identity, signupGrant);
        return { user, tokens: await startSession(tx, settings, user.id) };
      });
    } catch (error) {
      if (!(error instanceof LostRace) || attempt === 3) throw error;
    }
  }
}

async function userFor(tx: Tx, identity: Identity, signupGrant: number): Promise<User> {
  const linked = await findIdentityUser(tx, identity.provider, identity.subject);
  if (linked) return (await findUser(tx, linked))!;
  const user =
    (identity.verifiedEmail ? await findUserByEmail(tx, identity.verifiedEmail) : undefined) ??
    (await createUser(tx, identity.verifiedEmail, displayName(identity.name), signupGrant));
  if (!user || !(await linkIdentity(tx, identity.provider, identity.subject, user.id))) throw new LostRace();
  return user;
}

/** The provider's name for the person, if it is plain text that fits; else a neutral one. */
function displayName(name: string | null): string {
  const normalised = name === null ? '' : normaliseText(name);
  return normalised.length >= 1 && normalised.length <= 100 && isPlainText(normalised) ? normalised : FALLBACK_NAME;
}
