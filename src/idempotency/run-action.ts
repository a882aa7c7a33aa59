import { createHash } from 'node:crypto';
import type { Context, TypedResponse } from 'hono';
import { transactionEndingWith, type Db, type Tx } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import { IDEMPOTENCY_KEY_RULE, isIdempotencyKey } from '../domain/idempotency-key.js';
import type { AppEnv } from '../http/env.js';
import { isUnexpected, renderProblem, sendRendered, toDomainError, type StoredResponse } from '../http/problem.js';
import { claimStatement, findAnswer, isKeyTaken, type StoredAnswer } from './repository.js';
import { canonicalJson } from './canonical-json.js';

/** What an action produced: sent now and, with an Idempotency-Key, stored for replays. */
export interface ActionOutcome<Body = unknown, Status extends 200 | 201 = 200 | 201> {
  status: Status;
  body: Body;
  headers: Record<string, string>;
}

function fingerprintOf(c: Context<AppEnv>, body: unknown): string {
  const request = {
    method: c.req.method,
    route: c.req.routePath,
    params: c.req.param(),
    body: body ?? null,
    ifMatch: c.req.header('If-Match') ?? null,
  };
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

function replay(answer: StoredAnswer, fingerprint: string): Response {
  if (answer.fingerprint !== fingerprint) {
    throw new DomainError(
      'idempotency_key_reused',
      'This Idempotency-Key was first used with a different request (method, path, body or If-Match).',
    );
  }
  return sendRendered({ ...answer, headers: { ...answer.headers, 'Idempotent-Replayed': 'true' } });
}

function toStored(outcome: ActionOutcome): StoredResponse {
  return { status: outcome.status, bodyText: JSON.stringify(outcome.body), headers: outcome.headers };
}

/**
 * Runs a state-changing action in one transaction. With an Idempotency-Key the key is claimed and
 * the answer stored in that same transaction, so a crash leaves both or neither; the claim rides
 * with the COMMIT, so a first execution costs one round trip more than the plain action (the
 * replay lookup) and a replay costs that lookup alone. Business failures (4xx) are stored too,
 * with no effect; unexpected ones roll everything back, key included, so a retry runs afresh.
 */
export async function runAction<Body, Status extends 200 | 201>(
  c: Context<AppEnv>,
  db: Db,
  options: { keyRequired: boolean; body?: unknown },
  effect: (tx: Tx) => Promise<ActionOutcome<Body, Status>>,
): Promise<TypedResponse<Body, Status, 'json'>> {
  // Typed as the effect's JSON for the route contract; at run time it may also be a stored replay
  // of that same JSON, or a problem+json, which the contract lists as the route's error responses.
  return (await runActionUntyped(c, db, options, effect)) as unknown as TypedResponse<Body, Status, 'json'>;
}

/** The request's Idempotency-Key, checked; undefined when it has none (400 if it needs one). */
function checkedKey(c: Context<AppEnv>, keyRequired: boolean): string | undefined {
  const key = c.req.header('Idempotency-Key');
  if (key === undefined) {
    if (keyRequired) {
      throw new DomainError('idempotency_key_missing', 'This action moves money: send an Idempotency-Key header.');
    }
    return undefined;
  }
  if (!isIdempotencyKey(key)) {
    throw new DomainError('validation_failed', `Idempotency-Key must be ${IDEMPOTENCY_KEY_RULE}.`, {
      errors: [{ path: 'header.Idempotency-Key', message: `must be ${IDEMPOTENCY_KEY_RULE}` }],
    });
  }
  return key;
}

async function runActionUntyped(
  c: Context<AppEnv>,
  db: Db,
  options: { keyRequired: boolean; body?: unknown },
  effect: (tx: Tx) => Promise<ActionOutcome>,
): Promise<Response> {
  const key = checkedKey(c, options.keyRequired);
  if (key === undefined) return sendRendered(toStored(await db.transaction().execute(effect)));
  const userId = c.var.userId;
  const fingerprint = fingerprintOf(c, options.body);
  const earlier = await findAnswer(db, userId, key);
  if (earlier) return replay(earlier, fingerprint);

  try {
    const response = await transactionEndingWith(db, async (tx, { withCommit }) => {
      const stored = toStored(await effect(tx));
      // Sent with the COMMIT, no round trip of its own. If the key is taken, the whole transaction
      // rolls back and the catch below replays the winner.
      withCommit(claimStatement({ userId, key, fingerprint, response: stored }));
      return stored;
    });
    return sendRendered(response);
  } catch (thrown) {
    // A concurrent duplicate committed first: its effect stands, ours rolled back.
    if (isKeyTaken(thrown)) return replayWinner(db, userId, key, fingerprint);
    const error = toDomainError(thrown);
    // Not a property of the request: nothing is stored, a retry runs afresh.
    if (isUnexpected(error) || error.code === 'request_in_progress') throw thrown;
    const problem = renderProblem(error, c.req.path, c.var.requestId);
    const stored: StoredResponse = { status: problem.status, bodyText: JSON.stringify(problem.body), headers: problem.headers };
    try {
      await db.executeQuery(claimStatement({ userId, key, fingerprint, response: stored }));
    } catch (claimFailure) {
      if (isKeyTaken(claimFailure)) return replayWinner(db, userId, key, fingerprint);
      throw claimFailure;
    }
    return sendRendered(stored);
  }
}

async function replayWinner(db: Db, userId: string, key: string, fingerprint: string): Promise<Response> {
  const winner = await findAnswer(db, userId, key);
  // The key was taken a moment ago, so this only misses if the purge ran in between.
  if (!winner) throw new DomainError('request_in_progress', 'A request with this Idempotency-Key is being processed.');
  return replay(winner, fingerprint);
}

/** What a phased action produced, and whether it is settled (then it is stored with the key). */
export interface PhasedOutcome<Body = unknown, Status extends 200 | 202 = 200 | 202> extends Omit<ActionOutcome<Body>, 'status'> {
  status: Status;
  settled: boolean;
}

/**
 * An action around a call to a system outside our database: it cannot be one transaction, so
 * `action` runs its own atomic phases (a recovery point committed before the foreign call, the
 * outcome committed after), and its resource records where it stands. The key is required; a
 * stored answer replays. A settled outcome (and a business failure, 4xx) is stored with the key
 * after the action's last phase; an unsettled one (the foreign system's answer is not known yet)
 * is not, so a retry with the key runs the action again, which asks again instead of replaying a
 * stale answer. A crash between the last phase and the claim leaves no stored answer: the retry
 * runs again, and the resource, already settled, answers the same.
 */
export async function runPhasedAction<Body, Status extends 200 | 202>(
  c: Context<AppEnv>,
  db: Db,
  options: { body?: unknown },
  action: () => Promise<PhasedOutcome<Body, Status>>,
): Promise<TypedResponse<Body, Status, 'json'>> {
  const key = checkedKey(c, true)!;
  const userId = c.var.userId;
  const fingerprint = fingerprintOf(c, options.body);
  const earlier = await findAnswer(db, userId, key);
  if (earlier) return replay(earlier, fingerprint) as unknown as TypedResponse<Body, Status, 'json'>;
  let stored: StoredResponse;
  let settled: boolean;
  try {
    const outcome = await action();
    stored = toStored({ status: outcome.status as 200, body: outcome.body, headers: outcome.headers });
    settled = outcome.settled;
  } catch (thrown) {
    const error = toDomainError(thrown);
    if (isUnexpected(error) || error.code === 'request_in_progress') throw thrown;
    const problem = renderProblem(error, c.req.path, c.var.requestId);
    stored = { status: problem.status, bodyText: JSON.stringify(problem.body), headers: problem.headers };
    settled = true;
  }
  if (settled) {
    try {
      await db.executeQuery(claimStatement({ userId, key, fingerprint, response: stored }));
    } catch (claimFailure) {
      if (!isKeyTaken(claimFailure)) throw claimFailure;
      return (await replayWinner(db, userId, key, fingerprint)) as unknown as TypedResponse<Body, Status, 'json'>;
    }
  }
  return sendRendered(stored) as unknown as TypedResponse<Body, Status, 'json'>;
}
