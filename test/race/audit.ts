/**
 * The audit that runs after every scenario. Any violation fails the run.
 *
 * With a database of its own the harness audits in SQL over every row: users, credit_ledger,
 * orders and idempotency_keys. Against someone else's server (--url) it audits what HTTP shows
 * the harness's own users: their balances, ledgers and orders; the key ↔ effect check needs the
 * database and is reported as skipped there.
 *
 * What must hold, whatever races and faults came before:
 * - every balance equals the sum of its ledger rows (and each row's balance_after the running
 *   sum), and none is negative;
 * - money is conserved: grants + top-ups = balances + what live orders hold, and what each order
 *   holds matches its state — pending: the creator's share; matched/completed: both shares
 *   (menu total + tip); cancelled/expired: nothing;
 * - one charge per user per order, at most one joiner, no order both refunded and matched;
 * - a matched order was joined before it expired, an expired one expired after expires_at;
 * - every 2xx a client received names an effect that exists;
 * - every effect was produced under exactly one Idempotency-Key (and each stored success names
 *   an effect that exists); a top-up through the provider is made under one key and credited
 *   under any number of confirm keys (or none: a webhook or the settler credited it);
 * - the payments audit (SQL only): each DONE payment at the provider simulator is credited exactly
 *   once at its amount, nothing is credited without one, a top-up has succeeded exactly when it is
 *   credited, and what the provider captured is what entered the wallets through it.
 */
import type postgres from 'postgres';
import { paymentsAuditViolations } from '../support/payment-provider.js';
import { api, type Actor, type Order, type PublicOrder } from './http.js';
import type { Claim, World } from './setup.js';

export interface AuditResult {
  mode: 'sql' | 'http';
  checked: Record<string, number>;
  skipped: string[];
  violations: string[];
}

const MAX_VIOLATIONS = 50;

class Findings {
  readonly violations: string[] = [];
  readonly checked: Record<string, number> = {};
  total = 0;

  check(name: string, count: number): void {
    this.checked[name] = count;
  }

  add(message: string): void {
    this.total++;
    if (this.violations.length < MAX_VIOLATIONS) this.violations.push(message);
  }
}

interface Priced {
  split_type: string;
  menu_total: number;
  joiner_menu_total: number | null;
  delivery_tip: number;
}

/**
 * Each side's share, computed independently of the service: a split order halves the menu total
 * and the tip, a separate one charges each side their own menu and half the tip, and either way
 * the creator's halves are rounded up and the joiner's down. The harness reserves credit by it
 * (World.newOrder) and the audit checks every charge against it.
 */
export function sharesOf(o: Priced): { creator: number; joiner: number } {
  const creator =
    o.split_type === 'split' ? Math.ceil(o.menu_total / 2) + Math.ceil(o.delivery_tip / 2) : o.menu_total + Math.ceil(o.delivery_tip / 2);
  const joiner =
    o.split_type === 'split'
      ? Math.floor(o.menu_total / 2) + Math.floor(o.delivery_tip / 2)
      : (o.joiner_menu_total ?? 0) + Math.floor(o.delivery_tip / 2);
  return { creator, joiner };
}

/** The states in which an order holds both shares: matched, and on its way through the store and a rider. */
const HOLDING_BOTH = new Set(['matched', 'accepted', 'ready', 'picked_up']);

/** What an order must hold by its state, and each side's share (a completed order paid it all to its store). */
function expectedHolding(o: Priced & { status: string }) {
  const { creator, joiner } = sharesOf(o);
  const holds = o.status === 'pending' ? creator : HOLDING_BOTH.has(o.status) ? creator + joiner : 0;
  return { creator, joiner, holds };
}

interface Move {
  user: string;
  kind: string;
  amount: number;
}

interface AuditedOrder {
  id: string;
  status: string;
  split_type: string;
  creator_id: string;
  joiner_id: string | null;
  menu_total: number;
  joiner_menu_total: number | null;
  delivery_tip: number;
  version: number;
  moves: Move[];
  /** null when HTTP cannot tell (timestamps are compared in SQL only). */
  joined_in_time: boolean | null;
  expired_after: boolean | null;
  item_users: number;
}

/** The per-order rules, the same for both modes. Returns what the order holds. */
function auditOrder(f: Findings, o: AuditedOrder): number {
  const { creator, joiner, holds } = expectedHolding(o);
  const net = -o.moves.reduce((sum, m) => sum + m.amount, 0);
  const where = `order ${o.id} (${o.status}, ${o.split_type})`;
  if (net !== holds) f.add(`${where}: holds ${net} KRW, its state says ${holds}`);
  const charges = o.moves.filter((m) => m.kind === 'order_charge');
  const refunds = o.moves.filter((m) => m.kind === 'order_refund');
  const payouts = o.moves.filter((m) => m.kind === 'order_payout');
  const creatorCharges = charges.filter((m) => m.user === o.creator_id);
  if (creatorCharges.length !== 1 || creatorCharges[0].amount !== -creator) {
    f.add(`${where}: creator charged ${JSON.stringify(creatorCharges.map((m) => m.amount))}, share is ${creator}`);
  }
  const others = charges.filter((m) => m.user !== o.creator_id);
  // Joined: its joiner stays whatever happened next (a cancel before the store accepted, a rejection).
  const live =
    HOLDING_BOTH.has(o.status) || o.status === 'completed' || o.status === 'rejected' || (o.status === 'cancelled' && !!o.joiner_id);
  if (live) {
    if (others.length !== 1 || others[0].user !== o.joiner_id || others[0].amount !== -joiner) {
      f.add(`${where}: joiner ${o.joiner_id} share ${joiner}, charges of others ${JSON.stringify(others)}`);
    }
  } else if (others.length) {
    f.add(`${where}: someone other than the creator was charged: ${JSON.stringify(others)}`);
  }
  const chargedUsers = new Set(charges.map((m) => m.user));
  if (chargedUsers.size !== charges.length) f.add(`${where}: a user charged twice: ${JSON.stringify(charges)}`);
  if ((o.status === 'cancelled' && !o.joiner_id) || o.status === 'expired') {
    if (refunds.length !== 1 || refunds[0].user !== o.creator_id || refunds[0].amount !== creator) {
      f.add(`${where}: refunds ${JSON.stringify(refunds)}, expected one of ${creator} to the creator`);
    }
  } else if (o.status === 'cancelled' || o.status === 'rejected') {
    const got = refunds.map((r) => `${r.user}:${r.amount}`).sort();
    const want = [`${o.creator_id}:${creator}`, `${o.joiner_id}:${joiner}`].sort();
    if (JSON.stringify(got) !== JSON.stringify(want)) f.add(`${where}: refunds ${JSON.stringify(refunds)}, expected both shares back`);
  } else if (refunds.length) {
    f.add(`${where}: refunded yet ${o.status}: ${JSON.stringify(refunds)}`);
  }
  if (o.status === 'completed') {
    if (payouts.length !== 1 || payouts[0].amount !== creator + joiner) {
      f.add(`${where}: payouts ${JSON.stringify(payouts)}, expected one of ${creator + joiner} to the store`);
    }
  } else if (payouts.length) {
    f.add(`${where}: paid out yet ${o.status}: ${JSON.stringify(payouts)}`);
  }
  if (live && !o.joiner_id) f.add(`${where}: no joiner`);
  if (!live && o.joiner_id) f.add(`${where}: a joiner on a ${o.status} order`);
  if (o.item_users > (live && o.split_type === 'separate' ? 2 : 1)) f.add(`${where}: items of ${o.item_users} users`);
  if (live && o.joined_in_time === false) f.add(`${where}: joined at or after expires_at`);
  if (o.status === 'expired' && o.expired_after === false) f.add(`${where}: expired before expires_at`);
  return holds;
}

/** Every 2xx a client got must name an effect that exists. */
function auditClaims(
  f: Findings,
  claims: Claim[],
  orders: Map<string, AuditedOrder>,
  entries: Map<number, { user: string; kind: string; amount: number }>,
  /** Top-ups by id, with their user (SQL only: only scenarios that need the database make top-ups through the provider). */
  topUps?: Map<string, { user_id: string }>,
): void {
  for (const c of claims) {
    const where = `${c.kind} answered 2xx to ${c.user_id}`;
    if (c.kind === 'topup_answer') {
      const topUp = topUps?.get(c.top_up_id!);
      if (topUp?.user_id !== c.user_id) f.add(`${where}: top-up ${c.top_up_id} is ${JSON.stringify(topUp)}`);
      continue;
    }
    if (c.kind === 'topup') {
      const entry = entries.get(c.entry_id!);
      if (!entry || entry.user !== c.user_id || entry.kind !== 'top_up' || entry.amount !== c.amount) {
        f.add(`${where}: ledger entry ${c.entry_id} is ${JSON.stringify(entry)}`);
      }
      continue;
    }
    const o = orders.get(c.order_id!);
    if (!o) {
      f.add(`${where}: order ${c.order_id} does not exist`);
      continue;
    }
    const ok =
      c.kind === 'create'
        ? o.creator_id === c.user_id && o.version >= c.version!
        : c.kind === 'join'
          ? o.joiner_id === c.user_id && o.version >= c.version!
          : c.kind === 'cancel'
            ? o.status === 'cancelled' && (o.creator_id === c.user_id || o.joiner_id === c.user_id) && o.version === c.version
            : c.kind === 'accept' || c.kind === 'pick_up'
              ? o.version >= c.version! && o.status !== 'rejected' && o.status !== 'cancelled'
              : c.kind === 'reject'
                ? o.status === 'rejected' && o.version === c.version
                : c.kind === 'deliver'
                  ? o.status === 'completed' && o.version === c.version
                  : o.status === 'expired' && o.version === c.version;
    if (!ok)
      f.add(`${where}: order ${c.order_id} v${c.version} is now ${o.status} v${o.version}, creator ${o.creator_id}, joiner ${o.joiner_id}`);
  }
}

export async function audit(world: World): Promise<AuditResult> {
  return world.env.own ? auditSql(world, world.env.own.sql) : auditHttp(world);
}

async function auditSql(world: World, sql: postgres.Sql): Promise<AuditResult> {
  const f = new Findings();

  const unbalanced = await sql<{ id: string; credit: number; ledger: number }[]>`
    SELECT u.id, u.credit, coalesce(sum(l.amount), 0)::bigint AS ledger
    FROM users u LEFT JOIN credit_ledger l ON l.user_id = u.id
    GROUP BY u.id HAVING u.credit <> coalesce(sum(l.amount), 0) OR u.credit < 0`;
  for (const u of unbalanced) f.add(`user ${u.id}: balance ${u.credit}, ledger sums to ${u.ledger}`);
  const [{ users }] = await sql<{ users: number }[]>`SELECT count(*)::int AS users FROM users`;
  f.check('balances = sum(ledger), none negative (users)', users);

  const broken = await sql<{ id: number; user_id: string }[]>`
    SELECT id, user_id FROM (
      SELECT id, user_id, balance_after, sum(amount) OVER (PARTITION BY user_id ORDER BY id) AS running FROM credit_ledger) r
    WHERE running <> balance_after LIMIT 20`;
  for (const r of broken) f.add(`ledger entry ${r.id} of ${r.user_id}: balance_after is not the running sum`);
  const [{ rows }] = await sql<{ rows: number }[]>`SELECT count(*)::int AS rows FROM credit_ledger`;
  f.check('ledger rows with balance_after = running sum', rows);

  const orderRows = await sql<AuditedOrder[]>`
    SELECT o.id, o.status, o.split_type, o.creator_id, o.joiner_id, o.menu_total, o.joiner_menu_total, o.delivery_tip, o.version,
      o.matched_at < o.expires_at AS joined_in_time, o.expired_at >= o.expires_at AS expired_after,
      (SELECT count(DISTINCT i.user_id) FROM order_items i WHERE i.order_id = o.id)::int AS item_users,
      coalesce((SELECT json_agg(m) FROM (
                  SELECT l.user_id AS user, l.kind, l.amount FROM credit_ledger l WHERE l.order_id = o.id
                  UNION ALL
                  -- A payout leaves the order as a refund would (to the store): held falls by it.
                  SELECT p.store_id, p.kind, p.amount FROM store_ledger p WHERE p.order_id = o.id) m), '[]'::json) AS moves
    FROM orders o`;
  const orders = new Map<string, AuditedOrder>();
  let held = 0;
  for (const o of orderRows) {
    orders.set(o.id, o);
    held += auditOrder(f, o);
  }
  f.check('orders: holding by state, one charge per user, refunds, joiner, clock', orders.size);

  const unbalancedStores = await sql<{ store_id: string; balance: number; ledger: number }[]>`
    SELECT a.store_id, a.balance, coalesce(sum(l.amount), 0)::bigint AS ledger
    FROM store_accounts a LEFT JOIN store_ledger l ON l.store_id = a.store_id
    GROUP BY a.store_id HAVING a.balance <> coalesce(sum(l.amount), 0) OR a.balance < 0`;
  for (const s of unbalancedStores) f.add(`store ${s.store_id}: balance ${s.balance}, ledger sums to ${s.ledger}`);
  f.check('balances = sum(ledger), none negative (store payout accounts)', 1);

  const [money] = await sql<{ money_in: number; balances: number; payouts: number }[]>`
    SELECT (SELECT coalesce(sum(amount), 0) FROM credit_ledger WHERE kind IN ('signup_grant', 'top_up'))::bigint AS money_in,
           (SELECT coalesce(sum(credit), 0) FROM users)::bigint AS balances,
           (SELECT coalesce(sum(balance), 0) FROM store_accounts)::bigint AS payouts`;
  if (money.money_in !== money.balances + held + money.payouts) {
    f.add(
      `money not conserved: grants + top-ups ${money.money_in} ≠ wallets ${money.balances} + held by orders ${held} + store payouts ${money.payouts}`,
    );
  }
  f.check('conservation: grants + top-ups = wallets + held by orders + store payouts', 1);

  // Effects ↔ keys: each stored success is classified by its status and body.
  const keyed = await sql<{ kind: string; user_id: string; ref: string; n: number }[]>`
    WITH k AS (SELECT user_id, response_status AS st, response_body::jsonb AS b FROM idempotency_keys WHERE response_status BETWEEN 200 AND 299)
    SELECT kind, user_id, ref, count(*)::int AS n FROM (
      SELECT user_id,
        -- A top-up: a demo one is credited as it is made (its entry is the effect); one through the
        -- provider is made awaiting payment, and credited by a confirm (200 succeeded) or otherwise.
        CASE WHEN st = 201 AND b->>'status' = 'awaiting_payment' THEN 'topup_create'
             WHEN st = 201 AND jsonb_typeof(b->'entry') = 'object' THEN 'topup'
             WHEN st = 200 AND b->>'status' = 'succeeded' THEN 'topup_confirm'
             WHEN st = 201 AND b->>'status' = 'pending' THEN 'create'
             WHEN st = 200 AND b->>'status' = 'matched' THEN 'join'
             WHEN st = 200 AND b->>'status' = 'cancelled' THEN 'cancel'
             WHEN st = 200 AND b->>'status' = 'expired' THEN 'expire'
             WHEN st = 200 AND b->>'status' = 'rejected' THEN 'reject'
             WHEN st = 200 AND b->>'status' = 'completed' THEN 'deliver'
             -- Steps whose key is optional: what they did is checked by the order's state.
             WHEN st = 200 AND b->>'status' IN ('accepted', 'ready', 'picked_up') THEN 'step'
             ELSE 'unknown' END AS kind,
        CASE WHEN st = 201 AND jsonb_typeof(b->'entry') = 'object' THEN b->'entry'->>'id' ELSE b->>'id' END AS ref
      FROM k) c
    GROUP BY kind, user_id, ref`;
  const keysFor = new Map<string, { user_id: string; n: number }[]>();
  for (const k of keyed) {
    if (k.kind === 'unknown') f.add(`a stored success of ${k.user_id} names no known effect: ${k.ref}`);
    if (k.kind === 'step') continue;
    const id = `${k.kind}/${k.ref}`;
    keysFor.set(id, [...(keysFor.get(id) ?? []), { user_id: k.user_id, n: k.n }]);
  }
  const keyCount = (id: string) => (keysFor.get(id) ?? []).reduce((s, k) => s + k.n, 0);
  const expectOneKey = (id: string, user: string, what: string) => {
    const found = keysFor.get(id) ?? [];
    const n = keyCount(id);
    if (n !== 1 || found[0].user_id !== user)
      f.add(`${what}: ${n} Idempotency-Keys (${JSON.stringify(found)}), expected exactly one of ${user}`);
    keysFor.delete(id);
  };
  for (const o of orders.values()) {
    expectOneKey(`create/${o.id}`, o.creator_id, `order ${o.id} creation`);
    if (o.joiner_id) expectOneKey(`join/${o.id}`, o.joiner_id, `order ${o.id} join`);
    if (o.status === 'cancelled') {
      // Either participant of a matched order may have cancelled it.
      const by = keysFor.get(`cancel/${o.id}`)?.[0]?.user_id;
      expectOneKey(`cancel/${o.id}`, by === o.joiner_id && o.joiner_id ? o.joiner_id : o.creator_id, `order ${o.id} cancel`);
    }
    if (o.status === 'expired' && keyCount(`expire/${o.id}`) > 1) f.add(`order ${o.id}: expired under several keys`);
    keysFor.delete(`expire/${o.id}`);
    // A sweeper rejects without a key; a store's staff with exactly one.
    if (o.status === 'rejected' && keyCount(`reject/${o.id}`) > 1) f.add(`order ${o.id}: rejected under several keys`);
    keysFor.delete(`reject/${o.id}`);
    if (o.status === 'completed' && keyCount(`deliver/${o.id}`) !== 1)
      f.add(`order ${o.id}: delivered under ${keyCount(`deliver/${o.id}`)} keys`);
    keysFor.delete(`deliver/${o.id}`);
  }
  // Demo top-ups' credits (and rows from before top-ups had a table of their own, which name none).
  const demoCredits = await sql<{ id: number; user_id: string }[]>`
    SELECT l.id, l.user_id FROM credit_ledger l LEFT JOIN top_ups t ON t.id = l.top_up_id WHERE l.kind = 'top_up' AND coalesce(t.demo, true)`;
  for (const t of demoCredits) expectOneKey(`topup/${t.id}`, t.user_id, `top-up entry ${t.id}`);
  const topUpRows = await sql<
    { id: string; user_id: string; status: string; demo: boolean }[]
  >`SELECT id, user_id, status, demo FROM top_ups`;
  const topUps = new Map(topUpRows.map((t) => [t.id, t]));
  for (const t of topUpRows) {
    if (!t.demo) expectOneKey(`topup_create/${t.id}`, t.user_id, `top-up ${t.id} creation`);
    // Any number of confirms, each under its own key, may have been answered that it succeeded.
    for (const k of keysFor.get(`topup_confirm/${t.id}`) ?? []) {
      if (k.user_id !== t.user_id || t.status !== 'succeeded') {
        f.add(`top-up ${t.id} of ${t.user_id} is ${t.status}, yet ${k.n} confirm keys of ${k.user_id} stored that it succeeded`);
      }
    }
    keysFor.delete(`topup_confirm/${t.id}`);
  }
  for (const [id, keys] of keysFor) f.add(`stored success ${id} (${JSON.stringify(keys)}) names an effect that does not exist`);
  f.check('effects with exactly one Idempotency-Key (orders, joins, cancels, top-ups)', orders.size + topUps.size);

  const { provider } = world.env.own!;
  const payments = provider.payments();
  for (const v of await paymentsAuditViolations(sql, payments)) f.add(`payments: ${v}`);
  const [{ credited }] = await sql<{ credited: number }[]>`
    SELECT coalesce(sum(l.amount), 0)::bigint AS credited FROM credit_ledger l JOIN top_ups t ON t.id = l.top_up_id WHERE NOT t.demo`;
  const captured = payments.filter((p) => p.status === 'DONE').reduce((sum, p) => sum + p.amount, 0);
  if (credited !== captured) f.add(`payments: the provider captured ${captured} KRW, the wallets were credited ${credited} KRW through it`);
  f.check('payments: DONE at the provider credited once at its amount, nothing else (payments)', payments.length);
  f.check('payments: captured at the provider = credited through it', 1);

  const claims = world.claims.all();
  const entryIds = claims.filter((c) => c.kind === 'topup').map((c) => c.entry_id!);
  const entries = new Map<number, { user: string; kind: string; amount: number }>();
  if (entryIds.length) {
    const rows = await sql<{ id: number; user_id: string; kind: string; amount: number }[]>`
      SELECT id, user_id, kind, amount FROM credit_ledger WHERE id = ANY(${entryIds}::bigint[])`;
    for (const r of rows) entries.set(r.id, { user: r.user_id, kind: r.kind, amount: r.amount });
  }
  auditClaims(f, claims, orders, entries, topUps);
  f.check('2xx answers naming an existing effect', claims.length);

  return { mode: 'sql', checked: f.checked, skipped: [], violations: summarise(f) };
}

function summarise(f: Findings): string[] {
  return f.total > f.violations.length ? [...f.violations, `… and ${f.total - f.violations.length} more`] : f.violations;
}

/** Every page of a cursor-paginated list. */
async function allPages<T>(fetchPage: (cursor?: string) => Promise<{ status: unknown; body: unknown }>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    if (page.status !== 200) throw new Error(`audit read answered ${page.status}: ${JSON.stringify(page.body).slice(0, 200)}`);
    const body = page.body as { items: T[]; next_cursor: string | null };
    items.push(...body.items);
    cursor = body.next_cursor ?? undefined;
  } while (cursor);
  return items;
}

async function auditHttp(world: World): Promise<AuditResult> {
  const f = new Findings();
  let moneyIn = 0;
  let balances = 0;
  const moves = new Map<string, Move[]>();
  const entries = new Map<number, { user: string; kind: string; amount: number }>();
  const orderIds = new Set(world.orderIds);
  // Who takes part in each order: only a participant's GET shows its creator, joiner and items' users.
  const participantOf = new Map<string, Actor>();
  let rows = 0;

  const perUser = async (actor: Actor) => {
    const me = await api.me(actor, 0);
    if (me.status !== 200) throw new Error(`audit: GET /users/me answered ${me.status}`);
    const credit = (me.body as { credit: number }).credit;
    const ledger = await allPages<{ id: number; kind: string; amount: number; balance_after: number; order_id: string | null }>((c) =>
      api.ledger(actor, 0, c),
    );
    const mine = await allPages<Order>((c) => api.myOrders(actor, 0, c));
    return { actor, credit, ledger, mine };
  };
  const results: Awaited<ReturnType<typeof perUser>>[] = [];
  for (let i = 0; i < world.actors.length; i += 4) results.push(...(await Promise.all(world.actors.slice(i, i + 4).map(perUser))));

  for (const { actor, credit, ledger, mine } of results) {
    const sum = ledger.reduce((s, e) => s + e.amount, 0);
    if (sum !== credit || credit < 0) f.add(`user ${actor.id}: balance ${credit}, ledger sums to ${sum}`);
    let running = 0;
    for (const e of [...ledger].sort((a, b) => a.id - b.id)) {
      running += e.amount;
      if (running !== e.balance_after) f.add(`ledger entry ${e.id} of ${actor.id}: balance_after is not the running sum`);
      entries.set(e.id, { user: actor.id, kind: e.kind, amount: e.amount });
      if (e.kind === 'signup_grant' || e.kind === 'top_up') moneyIn += e.amount;
      if (e.order_id) moves.set(e.order_id, [...(moves.get(e.order_id) ?? []), { user: actor.id, kind: e.kind, amount: e.amount }]);
      rows++;
    }
    balances += credit;
    for (const o of mine) {
      orderIds.add(o.id);
      participantOf.set(o.id, actor);
    }
  }
  f.check('balances = sum(ledger), none negative (users)', results.length);
  f.check('ledger rows with balance_after = running sum', rows);

  const orders = new Map<string, AuditedOrder>();
  const ids = [...orderIds];
  for (let i = 0; i < ids.length; i += 16) {
    const got = await Promise.all(
      ids.slice(i, i + 16).map((id, j) => api.getOrder(participantOf.get(id) ?? world.actors[0], (i + j) % world.instances, id)),
    );
    for (const [j, answer] of got.entries()) {
      if (answer.status !== 200) {
        f.add(`order ${ids[i + j]}: GET answered ${answer.status}`);
        continue;
      }
      const o = answer.body as Order | PublicOrder;
      if (o.view !== 'participant') {
        f.add(`order ${ids[i + j]}: none of the harness's users takes part in it (GET showed the ${o.view} view)`);
        continue;
      }
      const totalOf = (user: string | null) =>
        o.items.filter((it) => it.user_id === user).reduce((s, it) => s + it.unit_price * it.quantity, 0);
      orders.set(o.id, {
        id: o.id,
        status: o.status,
        split_type: o.split_type,
        creator_id: o.creator_id,
        joiner_id: o.joiner_id,
        // From the items, not the service's totals: the audit prices orders itself.
        menu_total: totalOf(o.creator_id),
        joiner_menu_total: o.split_type === 'separate' && o.joiner_id ? totalOf(o.joiner_id) : null,
        delivery_tip: o.delivery_tip,
        version: o.version,
        moves: moves.get(o.id) ?? [],
        joined_in_time: o.matched_at ? o.matched_at < o.expires_at : null,
        expired_after: o.expired_at ? o.expired_at >= o.expires_at : null,
        item_users: new Set(o.items.map((it) => it.user_id)).size,
      });
    }
  }
  let held = 0;
  for (const o of orders.values()) held += auditOrder(f, o);
  for (const id of moves.keys()) if (!orders.has(id)) f.add(`ledger rows name order ${id}, which the audit could not read`);
  f.check('orders: holding by state, one charge per user, refunds, joiner, clock', orders.size);
  if (moneyIn !== balances + held) {
    f.add(`money not conserved among the harness's users: grants + top-ups ${moneyIn} ≠ balances ${balances} + held by orders ${held}`);
  }
  f.check('conservation: grants + top-ups = balances + held by orders', 1);
  const claims = world.claims.all();
  auditClaims(f, claims, orders, entries);
  f.check('2xx answers naming an existing effect', claims.length);
  return {
    mode: 'http',
    checked: f.checked,
    skipped: ['effects ↔ Idempotency-Keys (needs the database)'],
    violations: summarise(f),
  };
}
