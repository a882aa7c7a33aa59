import type { Logger } from 'pino';
import { ACCESS_TOKEN_MAX_SECONDS } from '../config.js';
import type { Db } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import { verifyAccessToken } from './access-tokens.js';
import { revokedSessionsSince, sessionStanding } from './repository.js';
import type { VerifyingKeys } from './signing-keys.js';

// Every instance learns of a revocation (a logout elsewhere, a reused refresh token) this often.
const REVOCATION_POLL_MS = 1000;
// The longest a revocation may go unnoticed: past it without a successful poll, every request
// asks the database about its session (so an outage of the poll cannot extend a revoked session).
export const REVOCATION_STALENESS_MS = 4000;
// A revocation committed late may carry a revoked_at a little before the last poll's clock: each
// poll looks this far back again.
const POLL_OVERLAP_MS = 10_000;
// Enough for every client of a busy instance; past it the oldest entries are dropped.
const VERIFIED_MAX = 50_000;

export interface Authenticated {
  userId: string;
  sessionId: string;
  /** When the access token expires. */
  expiresAtMs: number;
}

/**
 * Checks access tokens: each token's signature and claims once per instance, then from memory
 * until it expires. Its session is looked up in the database the first time, and after that a
 * revocation reaches this instance through a poll of revoked sessions every second.
 */
export class Authenticator {
  private readonly verified = new Map<string, Authenticated>();
  private readonly revoked = new Map<string, number>();
  private lastPoll: Date | undefined;
  private freshUntilMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly keys: VerifyingKeys,
    private readonly logger: Logger,
  ) {}

  async authenticate(token: string): Promise<Authenticated> {
    const now = Date.now();
    const known = this.verified.get(token);
    if (known && known.expiresAtMs > now) {
      this.refuseRevoked(known.sessionId);
      if (now < this.freshUntilMs) return known;
      // The revocation list is stale: ask the database, as for a token seen for the first time.
      return this.checkSession(token, known);
    }
    if (known) this.verified.delete(token);
    const claims = await verifyAccessToken(this.keys, token);
    this.refuseRevoked(claims.sessionId);
    return this.checkSession(token, claims);
  }

  /** Whether this instance knows the session to be revoked (what its open event streams ask each second). */
  isRevoked(sessionId: string): boolean {
    return this.revoked.has(sessionId);
  }

  /** A revocation made on this instance counts here at once. */
  noteRevoked(sessionIds: string[]): void {
    for (const id of sessionIds) this.revoked.set(id, Date.now());
  }

  /** Starts polling the revoked sessions; the first poll has finished when this resolves. */
  async start(): Promise<void> {
    await this.poll();
    const loop = () => {
      this.timer = setTimeout(() => void this.poll().finally(loop), REVOCATION_POLL_MS);
      this.timer.unref();
    };
    loop();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private refuseRevoked(sessionId: string): void {
    if (this.revoked.has(sessionId)) throw new DomainError('session_revoked', 'The session was signed out or revoked: sign in again.');
  }

  private async checkSession(token: string, claims: Authenticated): Promise<Authenticated> {
    const standing = await sessionStanding(this.db, claims.sessionId, claims.userId);
    if (standing === 'revoked') throw new DomainError('session_revoked', 'The session was signed out or revoked: sign in again.');
    // A well-signed token whose session this database does not have (e.g. from before a reset):
    // refused here at the edge, rather than an empty answer later.
    if (standing === 'unknown') throw new DomainError('token_invalid', 'The access token names no session of this service.');
    if (this.verified.size >= VERIFIED_MAX) this.verified.delete(this.verified.keys().next().value!);
    const entry = { userId: claims.userId, sessionId: claims.sessionId, expiresAtMs: claims.expiresAtMs };
    this.verified.set(token, entry);
    return entry;
  }

  private async poll(): Promise<void> {
    const startedMs = Date.now();
    try {
      const since = this.lastPoll && new Date(this.lastPoll.getTime() - POLL_OVERLAP_MS);
      const { ids, now } = await revokedSessionsSince(this.db, since, ACCESS_TOKEN_MAX_SECONDS + 60);
      for (const { id, revoked_at } of ids) this.revoked.set(id, revoked_at.getTime());
      this.lastPoll = now;
      this.freshUntilMs = startedMs + REVOCATION_STALENESS_MS;
      // A session revoked longer ago than any access token lives has no token left to refuse.
      const forgetBefore = startedMs - (ACCESS_TOKEN_MAX_SECONDS + 120) * 1000;
      for (const [id, at] of this.revoked) if (at < forgetBefore) this.revoked.delete(id);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not poll revoked sessions: checking sessions in the database until it works again');
    }
  }
}
