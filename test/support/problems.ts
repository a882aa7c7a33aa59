import { expect } from 'vitest';
import type postgres from 'postgres';

/** A response and its parsed body, however it was made (SDK or raw fetch). */
export interface Answer {
  response: Response;
  body: unknown;
}

/** For requests the SDK cannot express: the raw Response with its body parsed when it is JSON. */
export async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text, the assertions will say so
  }
  return { response, body };
}

/** An SDK result ({ data, error, response }) as an Answer. */
export function sdkAnswer(result: { data?: unknown; error?: unknown; response: Response }): Answer {
  return { response: result.response, body: result.error ?? result.data };
}

/**
 * What every error of the service must be: problem+json with type/title/status/detail/instance/code/
 * request_id (errors[] on validation failures), the request id echoed, nothing internal leaked.
 */
export function expectProblem(answer: Answer, status: number, code: string, instance?: string): Record<string, unknown> {
  const { response } = answer;
  const body = answer.body as Record<string, unknown>;
  expect({ status: response.status, code: body?.code }, JSON.stringify(body)).toEqual({ status, code });
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json(;|$)/);
  expect(body).toMatchObject({
    type: expect.stringMatching(new RegExp(`^https?://[^\\s]+/${code}$`)),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    instance: instance ?? expect.stringMatching(/^\//),
    code,
    request_id: response.headers.get('x-request-id'),
  });
  expect((body.title as string).length).toBeGreaterThan(0);
  expect((body.detail as string).length).toBeGreaterThan(0);
  expect((body.request_id as string).length).toBeGreaterThan(0);
  if (code === 'validation_failed') {
    expect(body.errors).toEqual(expect.arrayContaining([{ path: expect.any(String), message: expect.any(String) }]));
    expect((body.errors as unknown[]).length).toBeGreaterThan(0);
  } else {
    expect(body.errors).toBeUndefined();
  }
  // No stack trace (a V8 frame: "at fn (file:line:col)"), SQL or file names.
  expect(JSON.stringify(body)).not.toMatch(
    /\bat [^"]*\(\S+:\d+:\d+\)|node_modules|\.ts:\d+|\b(SELECT|INSERT|UPDATE|DELETE) .* (FROM|INTO|SET|WHERE)\b|postgres|sqlstate/i,
  );
  return body;
}

/** Everything a request could change, summarised: equal snapshots mean no change in the data. */
export async function snapshot(sql: postgres.Sql): Promise<Record<string, unknown>> {
  const [row] = await sql`
    SELECT
      (SELECT count(*)::int FROM users) AS users,
      (SELECT coalesce(sum(credit), 0)::bigint FROM users) AS credit,
      (SELECT coalesce(sum(version), 0)::bigint FROM users) AS user_versions,
      (SELECT md5(coalesce(string_agg(id::text || ':' || coalesce(address, '-') || ':' || coalesce(lat::text, '-') || ':' || coalesce(lon::text, '-') || ':' || credit || ':' || version, ',' ORDER BY id), '')) FROM users) AS users_digest,
      (SELECT count(*)::int FROM credit_ledger) AS ledger_rows,
      (SELECT coalesce(sum(amount), 0)::bigint FROM credit_ledger) AS ledger_sum,
      (SELECT count(*)::int FROM cart_items) AS cart_items,
      (SELECT md5(coalesce(string_agg(user_id::text || ':' || menu_id || ':' || quantity, ',' ORDER BY user_id, menu_id), '')) FROM cart_items) AS cart_digest,
      (SELECT count(*)::int FROM orders) AS orders,
      (SELECT count(*)::int FROM order_items) AS order_items,
      (SELECT count(*)::int FROM notifications) AS notifications,
      (SELECT count(*)::int FROM idempotency_keys) AS idempotency_keys,
      (SELECT count(*)::int FROM stores) AS stores,
      (SELECT count(*)::int FROM menus) AS menus`;
  return { ...row };
}
