/**
 * A fast wrong answer is a failure: after the money-moving scenarios the bench audits the ledger
 * the way the race harness does, plus what only the bench knows (which requests got a 2xx).
 */
import type postgres from 'postgres';

export interface AuditResult {
  ok: boolean;
  lines: string[];
}

/** Every balance equals the sum of its ledger rows and none is negative. */
async function balances(sql: postgres.Sql): Promise<string[]> {
  const [row] = await sql<{ users: number; wrong: number }[]>`
    SELECT count(*)::int AS users,
           count(*) FILTER (WHERE u.credit <> coalesce(l.total, 0) OR u.credit < 0)::int AS wrong
    FROM users u LEFT JOIN (SELECT user_id, sum(amount) AS total FROM credit_ledger GROUP BY user_id) l ON l.user_id = u.id`;
  return row.wrong === 0 ? [] : [`${row.wrong} of ${row.users} users have a balance that is not the sum of their ledger rows`];
}

/**
 * Every order moved money exactly as its state says, counted in ledger rows: the creator charged
 * once (their share), the joiner charged once iff joined (matched through completed), the creator
 * refunded once (in full) iff expired or cancelled, and no other row; a completed order paid out
 * to its store exactly once, what both paid, and no other order paid out at all. The shares are computed here from the
 * order's items at their menus' prices (the bench never reprices a menu), not from the totals the
 * service stored: an order priced wrongly and charged by that wrong total fails too. Checked for
 * every order of the last day or still open (the bench's history, older and closed, was written
 * consistent by construction).
 */
async function perOrder(sql: postgres.Sql): Promise<{ problems: string[]; counts: Record<string, number> }> {
  const rows = await sql<{ status: string; orders: number; wrong: number }[]>`
    WITH o AS (
      SELECT * FROM orders WHERE created_at > now() - interval '1 day' OR status IN ('pending', 'matched', 'accepted', 'ready', 'picked_up')),
    p AS (
      SELECT p.order_id, count(*) AS n, sum(p.amount) AS paid, bool_and(p.store_id = o.store_id) AS to_its_store
      FROM store_ledger p JOIN o ON o.id = p.order_id
      GROUP BY p.order_id),
    i AS (
      SELECT i.order_id,
             sum(m.price * i.quantity) FILTER (WHERE i.user_id = o.creator_id) AS creator_menu,
             sum(m.price * i.quantity) FILTER (WHERE i.user_id = o.joiner_id) AS joiner_menu,
             count(*) FILTER (WHERE i.unit_price <> m.price OR (i.user_id <> o.creator_id AND i.user_id IS DISTINCT FROM o.joiner_id)) AS odd
      FROM order_items i JOIN o ON o.id = i.order_id JOIN menus m ON m.id = i.menu_id
      GROUP BY i.order_id),
    l AS (
      SELECT l.order_id,
             count(*) AS n,
             count(*) FILTER (WHERE l.kind = 'order_charge' AND l.user_id = o.creator_id) AS cc,
             sum(l.amount) FILTER (WHERE l.kind = 'order_charge' AND l.user_id = o.creator_id) AS ca,
             count(*) FILTER (WHERE l.kind = 'order_charge' AND l.user_id = o.joiner_id) AS jc,
             sum(l.amount) FILTER (WHERE l.kind = 'order_charge' AND l.user_id = o.joiner_id) AS ja,
             count(*) FILTER (WHERE l.kind = 'order_refund' AND l.user_id = o.creator_id) AS rc,
             sum(l.amount) FILTER (WHERE l.kind = 'order_refund' AND l.user_id = o.creator_id) AS ra
      FROM credit_ledger l JOIN o ON o.id = l.order_id
      GROUP BY l.order_id)
    SELECT o.status, count(*)::int AS orders, count(*) FILTER (WHERE NOT coalesce(
             l.cc = 1 AND l.ca = -s.creator
             AND l.jc = (o.status IN ('matched', 'accepted', 'ready', 'picked_up', 'completed'))::int
             AND (o.status NOT IN ('matched', 'accepted', 'ready', 'picked_up', 'completed') OR l.ja = -s.joiner)
             AND coalesce(p.n, 0) = (o.status = 'completed')::int
             AND (o.status <> 'completed' OR (p.paid = s.creator + s.joiner AND p.to_its_store))
             AND l.rc = (o.status IN ('expired', 'cancelled'))::int
             AND (o.status NOT IN ('expired', 'cancelled') OR l.ra = s.creator)
             AND l.n = l.cc + l.jc + l.rc
             AND i.odd = 0 AND o.menu_total = i.creator_menu
             AND o.joiner_menu_total IS NOT DISTINCT FROM i.joiner_menu
             AND o.delivery_tip = st.delivery_tip, false))::int AS wrong
    FROM o
    JOIN stores st ON st.id = o.store_id
    LEFT JOIN i ON i.order_id = o.id
    LEFT JOIN l ON l.order_id = o.id
    LEFT JOIN p ON p.order_id = o.id
    -- pricing.ts's shares, restated: split, the creator pays the rounded-up halves of menu and tip
    -- and the joiner the rounded-down ones; separate, each their own items plus half the tip.
    CROSS JOIN LATERAL (SELECT
      CASE o.split_type WHEN 'split' THEN ceil(i.creator_menu / 2.0) ELSE i.creator_menu END + ceil(st.delivery_tip / 2.0) AS creator,
      CASE o.split_type WHEN 'split' THEN floor(i.creator_menu / 2.0) ELSE i.joiner_menu END + floor(st.delivery_tip / 2.0) AS joiner) s
    GROUP BY o.status ORDER BY o.status`;
  const counts = Object.fromEntries(rows.map((r) => [r.status, r.orders]));
  const problems = rows.filter((r) => r.wrong > 0).map((r) => `${r.wrong} ${r.status} orders moved money wrongly`);
  return { problems, counts };
}

export interface ActionAudit {
  /** Key prefix the scenario used; its stored answers say which requests succeeded. */
  keyPrefix: string;
  action: 'create' | 'join' | 'cancel' | 'accept' | 'pick-up' | 'deliver';
  /**
   * 2xx the load generator saw (warm-up and measured run); undefined when they cannot be told
   * apart from other requests' (mixed: a join's 200 and a nearby list's).
   */
  observed2xx?: number;
  /** Requests that may have been in flight when the load generator stopped (warm-up and run). */
  connections: number;
  /** Orders the requests were aimed at (join, cancel): none may have changed without a 2xx. */
  targets?: string[];
}

/**
 * What only the bench knows: each 2xx answer stored under this scenario's keys really did its
 * thing once, no targeted order changed without one, and the load generator saw no 2xx that the
 * database does not have (a few more stored than seen is fine: requests in flight at the end).
 */
async function actionOutcomes(sql: postgres.Sql, audit: ActionAudit): Promise<string[]> {
  const problems: string[] = [];
  const like = `${audit.keyPrefix}%`;
  const wanted = {
    create: 'pending',
    join: 'matched',
    cancel: 'cancelled',
    accept: 'accepted',
    'pick-up': 'picked_up',
    deliver: 'completed',
  }[audit.action];
  const [stored] = await sql<{ ok: number; wrong: number }[]>`
    SELECT count(*)::int AS ok,
           count(*) FILTER (WHERE o.id IS NULL OR NOT (
             CASE ${audit.action}::text
               WHEN 'create' THEN o.creator_id = k.user_id
               WHEN 'join' THEN o.joiner_id = k.user_id AND o.status IN ('matched', 'completed')
               WHEN 'cancel' THEN o.creator_id = k.user_id AND o.status = 'cancelled'
               WHEN 'accept' THEN o.status = 'accepted' AND EXISTS (
                 SELECT FROM store_staff st WHERE st.user_id = k.user_id AND st.store_id = o.store_id)
               ELSE o.rider_id = k.user_id AND o.status = ${wanted} END))::int AS wrong
    FROM idempotency_keys k
    LEFT JOIN orders o ON o.id = (k.response_body::json ->> 'id')::uuid
    WHERE k.key LIKE ${like} AND k.response_status BETWEEN 200 AND 299`;
  if (stored.wrong > 0) problems.push(`${stored.wrong} stored 2xx ${audit.action} answers without the ${wanted} order they describe`);
  if (audit.observed2xx !== undefined && stored.ok < audit.observed2xx) {
    problems.push(`the load generator saw ${audit.observed2xx} 2xx ${audit.action} answers, the database stored ${stored.ok}`);
  }
  if (audit.observed2xx !== undefined && stored.ok > audit.observed2xx + audit.connections) {
    problems.push(
      `${stored.ok} ${audit.action} effects stored, but only ${audit.observed2xx} 2xx seen (+${audit.connections} in flight at most)`,
    );
  }
  if (audit.targets) {
    const [changed] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM orders WHERE id = ANY(${audit.targets}::uuid[]) AND status = ${wanted}`;
    if (changed.n !== stored.ok) {
      problems.push(`${changed.n} targeted orders are ${wanted}, but ${stored.ok} ${audit.action} requests succeeded`);
    }
  }
  if (audit.action === 'create') {
    const [orders] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM orders WHERE delivery_address LIKE ${`${audit.keyPrefix}%`}`;
    if (orders.n !== stored.ok) problems.push(`${orders.n} orders created, but ${stored.ok} create requests succeeded`);
  }
  return problems;
}

export async function auditLedger(sql: postgres.Sql, actions: ActionAudit[] = []): Promise<AuditResult> {
  const problems = [...(await balances(sql))];
  const orders = await perOrder(sql);
  problems.push(...orders.problems);
  for (const action of actions) problems.push(...(await actionOutcomes(sql, action)));
  const summary = Object.entries(orders.counts)
    .map(([status, n]) => `${n} ${status}`)
    .join(', ');
  return {
    ok: problems.length === 0,
    lines:
      problems.length === 0
        ? [`ledger audit ok: every balance is its ledger sum; money moved once per order (orders of the last day or open: ${summary})`]
        : problems,
  };
}
