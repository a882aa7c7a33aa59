import { sql, type Expression, type RawBuilder, type SqlBool, type UpdateQueryBuilder, type UpdateResult } from 'kysely';
import type { Db, Tx } from '../db/database.js';
import { precompiled } from '../db/precompiled.js';
import type { Database, Menu, Order, OrderStatus, SplitType, Store } from '../db/schema.js';
import { transitionOf, transitionsOf, type Actor, type Clock, type OrderAction, type Transition } from '../domain/order-state.js';
import type { VersionCondition } from '../domain/versions.js';
import { creditMoveSql } from '../users/repository.js';

export interface PresentableItem {
  user_id: string;
  menu_id: string;
  name: string;
  quantity: number;
  unit_price: number;
}

export type OrderWithItems = Order & { items: PresentableItem[] };

// Items of an order as JSON, in the order they were added: one statement loads an order whole.
const itemsOf = (orderId: Expression<string>) => sql<PresentableItem[]>`coalesce((
  SELECT json_agg(json_build_object('user_id', i.user_id, 'menu_id', i.menu_id, 'name', i.name,
                                    'quantity', i.quantity, 'unit_price', i.unit_price) ORDER BY i.id)
  FROM order_items i WHERE i.order_id = ${orderId}), '[]'::json)`;

/** Metres from a user's saved address to a point; null when they have none (great_circle_m is strict). */
const savedAddressDistance = (userId: string | null, lat: Expression<number> | number, lon: Expression<number> | number) =>
  sql<number | null>`(SELECT great_circle_m(u.lat, u.lon, ${lat}, ${lon})
                      FROM users u WHERE u.id = ${userId}::uuid)`;

// Every GET of an order runs this: built and compiled once, not per request.
const loadOrderStatement = precompiled((db, p: { id: string; viewerId: string | null }) =>
  db
    .selectFrom('orders as o')
    .selectAll('o')
    .select((eb) => itemsOf(eb.ref('o.id')).as('items'))
    // The database clock at the read: "expired" is judged by one clock for every instance.
    .select(sql<Date>`now()`.as('read_at'))
    // How far the reader's saved address is, for the public view: in the same statement.
    .select((eb) => savedAddressDistance(p.viewerId, eb.ref('o.delivery_lat'), eb.ref('o.delivery_lon')).as('viewer_distance_m'))
    // Whether the reader is staff of the order's store (who sees the delivery address).
    .select(
      sql<boolean>`EXISTS (SELECT FROM store_staff ss WHERE ss.user_id = ${p.viewerId}::uuid AND ss.store_id = o.store_id)`.as(
        'viewer_is_staff',
      ),
    )
    .where('o.id', '=', p.id),
);

/** An order as a GET reads it: with the database's clock, and what decides what the reader sees. */
export type LoadedOrder = OrderWithItems & { read_at: Date; viewer_distance_m: number | null; viewer_is_staff: boolean };

/** An order whole, with how far `viewerId`'s saved address is from it (null without one, or without a viewer). */
export async function loadOrder(db: Db | Tx, id: string, viewerId: string | null): Promise<LoadedOrder | undefined> {
  const [row] = await loadOrderStatement(db, { id, viewerId });
  return row;
}

/** Metres from a user's saved address to a point; null when they have none. */
export async function distanceFromSavedAddress(db: Db | Tx, userId: string, point: { lat: number; lon: number }): Promise<number | null> {
  const { rows } = await sql<{ d: number | null }>`SELECT ${savedAddressDistance(userId, point.lat, point.lon)} AS d`.execute(db);
  return rows[0]?.d ?? null;
}

/** What never changes after creation, plus the store's minimum: safe to read before deciding. */
export function loadOrderFacts(db: Db | Tx, id: string) {
  return db
    .selectFrom('orders as o')
    .innerJoin('stores as s', 's.id', 'o.store_id')
    .select(['o.id', 'o.creator_id', 'o.store_id', 'o.split_type', 'o.menu_total', 'o.delivery_tip', 's.min_order_price'])
    .where('o.id', '=', id)
    .executeTakeFirst();
}

type ItemToInsert = { menu_id: string; name: string; unit_price: number; quantity: number };
/** Items as the columns the INSERT unnests: one statement text for any count. */
type ItemColumns = { menuIds: string[]; names: string[]; unitPrices: number[]; quantities: number[] };
const itemColumns = (items: ItemToInsert[]): ItemColumns => ({
  menuIds: items.map((i) => i.menu_id),
  names: items.map((i) => i.name),
  unitPrices: items.map((i) => i.unit_price),
  quantities: items.map((i) => i.quantity),
});

/** The INSERT of one user's items of an order (ids follow the order given). */
const insertItemsSql = (orderId: string, userId: string, items: ItemColumns, when: RawBuilder<SqlBool> = sql<SqlBool>`true`) => sql`
  INSERT INTO order_items (order_id, user_id, menu_id, name, unit_price, quantity)
  SELECT ${orderId}::uuid, ${userId}::uuid, i.menu_id, i.name, i.unit_price, i.quantity
  FROM unnest(${items.menuIds}::uuid[], ${items.names}::text[], ${items.unitPrices}::bigint[], ${items.quantities}::int[])
       WITH ORDINALITY AS i(menu_id, name, unit_price, quantity, n)
  WHERE ${when}
  ORDER BY i.n`;

const loadCreateFactsStatement = precompiled(
  (_, p: { userId: string; storeId: string; menuIds: string[]; lat: number | null; lon: number | null }) => sql<{
    store: Store | null;
    menus: Menu[];
    saved: { address: string | null; lat: number | null; lon: number | null } | null;
    delivery_distance_m: number | null;
  }>`
    SELECT (SELECT row_to_json(s) FROM stores s WHERE s.id = ${p.storeId}) AS store,
           coalesce((SELECT json_agg(m) FROM menus m WHERE m.id = ANY(${p.menuIds}::uuid[])), '[]'::json) AS menus,
           (SELECT json_build_object('address', u.address, 'lat', u.lat, 'lon', u.lon) FROM users u WHERE u.id = ${p.userId}
            FOR NO KEY UPDATE) AS saved,
           (SELECT great_circle_m(s.lat, s.lon, coalesce(${p.lat}::float8, u.lat), coalesce(${p.lon}::float8, u.lon))
            FROM stores s, users u WHERE s.id = ${p.storeId} AND u.id = ${p.userId}) AS delivery_distance_m`,
);

/**
 * Everything creating an order reads, in one statement: the store, the requested menus (of any
 * store: the caller checks they are the store's), the creator's saved delivery address, and how
 * far the delivery point (`delivery`'s, else the saved one) is from the store, by great_circle_m.
 *
 * It also locks the creator's row (FOR NO KEY UPDATE, the lock the charge's UPDATE takes anyway),
 * so that creates by one user run one at a time from here to COMMIT: the open-orders count of
 * insertOrderCharged, a later statement with a snapshot of its own, then sees every order of the
 * user that was committed before, and none can slip in between the count and the insert.
 */
export async function loadCreateFacts(
  tx: Tx,
  q: { userId: string; storeId: string; menuIds: string[]; delivery: { lat: number; lon: number } | undefined },
): Promise<{
  store: Store | undefined;
  menus: Menu[];
  saved: { address: string | null; lat: number | null; lon: number | null } | undefined;
  /** Metres from the store to the delivery point; null without a store or a point. */
  deliveryDistanceM: number | null;
}> {
  const rows = await loadCreateFactsStatement(tx, {
    userId: q.userId,
    storeId: q.storeId,
    menuIds: q.menuIds,
    lat: q.delivery?.lat ?? null,
    lon: q.delivery?.lon ?? null,
  });
  const [row] = rows;
  return { store: row.store ?? undefined, menus: row.menus, saved: row.saved ?? undefined, deliveryDistanceM: row.delivery_distance_m };
}

/** Why insertOrderCharged wrote nothing: the creator's open orders are at the quota, or the balance is short. */
export type CreateRefusal = { refused: 'open_orders'; open: number } | { refused: 'credit' };

/** An order to open, as create.ts decided it. */
type NewOrder = {
  id: string;
  storeId: string;
  creatorId: string;
  splitType: SplitType;
  menuTotal: number;
  deliveryTip: number;
  delivery: { address: string; lat: number; lon: number };
  ttlMinutes: number;
};

// The statement's parameters: the order with its delivery point flat, its items as columns.
type InsertOrderParams = Omit<NewOrder, 'delivery'> & NewOrder['delivery'] & ItemColumns & { amount: number; maxOpen: number };

// The count stops at maxOpen (LIMIT): its cost is bounded whatever a user has pending.
const insertOrderChargedStatement = precompiled(
  (_, p: InsertOrderParams) => sql<(Order & { charged: boolean; open_orders: number }) | { id: null; charged: false; open_orders: number }>`
    WITH open AS (
      SELECT count(*)::int AS n FROM (
        SELECT FROM orders WHERE creator_id = ${p.creatorId} AND status = 'pending' AND expires_at > now()
        LIMIT ${p.maxOpen}) mine),
    o AS (
      INSERT INTO orders (id, store_id, creator_id, split_type, menu_total, delivery_tip,
                          delivery_address, delivery_lat, delivery_lon, expires_at)
      SELECT ${p.id}, ${p.storeId}, ${p.creatorId}, ${p.splitType}, ${p.menuTotal}, ${p.deliveryTip},
             ${p.address}, ${p.lat}, ${p.lon}, now() + make_interval(mins => ${p.ttlMinutes})
      FROM open WHERE open.n < ${p.maxOpen}
      RETURNING *),
    items AS (${insertItemsSql(p.id, p.creatorId, p, sql<SqlBool>`EXISTS (SELECT FROM o)`)}),
    ${creditMoveSql({ userId: p.creatorId, amount: p.amount, kind: 'order_charge', orderId: p.id }, sql<SqlBool>`EXISTS (SELECT FROM o)`)}
    SELECT o.*, EXISTS (SELECT FROM moved) AS charged, open.n AS open_orders FROM open LEFT JOIN o ON true`,
);

/**
 * Inserts an order with its items and charges its creator `charge`, with the charge's ledger row,
 * in one statement (moveCredit's debit: only if the balance stays non-negative), and only if the
 * creator has fewer than `maxOpen` open orders (pending, before expires_at). The caller must hold
 * the creator's row lock (loadCreateFacts takes it): then this statement's count is exact. A
 * refusal says which check failed: the caller answers 409 or 402 and the transaction rolls back.
 */
export async function insertOrderCharged(
  tx: Tx,
  { delivery, ...order }: NewOrder,
  items: ItemToInsert[],
  charge: number,
  maxOpen: number,
): Promise<Order | CreateRefusal> {
  const rows = await insertOrderChargedStatement(tx, {
    ...order,
    ...delivery,
    ...itemColumns(items),
    amount: -charge,
    maxOpen,
  });
  const [row] = rows;
  if (row.id === null) return { refused: 'open_orders', open: row.open_orders };
  if (!row.charged) return { refused: 'credit' };
  const { charged: _, open_orders: _open, ...created } = row;
  return created as Order;
}

export async function insertItems(tx: Tx, orderId: string, userId: string, items: ItemToInsert[]): Promise<void> {
  if (items.length > 0) await insertItemsSql(orderId, userId, itemColumns(items)).execute(tx);
}

// A row's clock in SQL, judged by the database's clock: one clock for every instance.
const CLOCK_SQL: Record<Clock, RawBuilder<SqlBool> | null> = {
  any_time: null,
  before_expiry: sql<SqlBool>`expires_at > now()`,
  after_expiry: sql<SqlBool>`expires_at <= now()`,
  before_accept_by: sql<SqlBool>`accept_by > now()`,
};

type CasParams = { orderId: string; versions: number[]; userId: string };
type OrdersUpdate = UpdateQueryBuilder<Database, 'orders', 'orders', UpdateResult>;

/**
 * The compare-and-set of one transition row for one order: one UPDATE that checks the state, the
 * clock, the version and who acts (roles by subquery: no read first), and bumps the version.
 * `more` adds what one action writes or requires besides (the join's joiner, the pick-up's rider).
 * Built and compiled once per form — any version or a list, a user or a sweeper acting — rather
 * than per request.
 */
function casStatement(
  row: Transition,
  form: { anyVersion: boolean; byUser: boolean },
  more: (query: OrdersUpdate, p: CasParams & Record<string, unknown>) => OrdersUpdate = (query) => query,
) {
  return precompiled((db, p: CasParams & Record<string, unknown>) => {
    let query = db
      .updateTable('orders')
      .set((eb) => ({ status: row.to, version: eb('version', '+', 1), [row.stamps]: sql`now()` }))
      .where('id', '=', p.orderId)
      .where('status', '=', row.from);
    const clock = CLOCK_SQL[row.clock];
    if (clock) query = query.where(clock);
    // = ANY(array): one statement text for any number of tags (none matches nothing).
    if (!form.anyVersion) query = query.where(sql<SqlBool>`version = ANY(${p.versions}::int[])`);
    if (form.byUser) query = query.where(WHO_SQL[row.who](p.userId));
    return more(query, p)
      .returningAll()
      .returning((eb) => itemsOf(eb.ref('orders.id')).as('items'));
  });
}

// A row's `who` in SQL, for a user acting (a sweeper may do what its job is).
const WHO_SQL: Record<Transition['who'], (userId: string) => RawBuilder<SqlBool>> = {
  anyone: () => sql<SqlBool>`true`,
  creator: (userId) => sql<SqlBool>`creator_id = ${userId}::uuid`,
  participant: (userId) => sql<SqlBool>`(creator_id = ${userId}::uuid OR joiner_id = ${userId}::uuid)`,
  store_staff: (userId) => sql<SqlBool>`store_id IN (SELECT store_id FROM store_staff WHERE user_id = ${userId}::uuid)`,
  rider: (userId) => sql<SqlBool>`EXISTS (SELECT FROM riders WHERE user_id = ${userId}::uuid)`,
  order_rider: (userId) => sql<SqlBool>`rider_id = ${userId}::uuid`,
};

/** The forms of one action's compare-and-sets (one per row, tried in order), compiled on first use. */
function casStatements(action: OrderAction, more?: Parameters<typeof casStatement>[2]) {
  const forms = new Map<string, ReturnType<typeof casStatement>[]>();
  return (condition: VersionCondition, actor: Actor) => {
    const form = { anyVersion: condition.any, byUser: actor.kind === 'user' };
    const name = `${form.anyVersion}:${form.byUser}`;
    let statements = forms.get(name);
    if (!statements) forms.set(name, (statements = transitionsOf(action).map((row) => casStatement(row, form, more))));
    return statements;
  };
}

const casParams = (orderId: string, condition: VersionCondition, actor: Actor): CasParams => ({
  orderId,
  versions: condition.any ? [] : condition.versions,
  userId: actor.kind === 'user' ? actor.userId : '',
});

/** Runs an action's compare-and-sets in turn until one changes the order (its rows never share a state). */
async function firstThatApplies(
  tx: Tx,
  statements: ReturnType<typeof casStatement>[],
  params: CasParams & Record<string, unknown>,
): Promise<OrderWithItems | undefined> {
  for (const statement of statements) {
    const [order] = await statement(tx, params);
    if (order) return order;
  }
  return undefined;
}

/** Actions whose compare-and-set writes nothing but what their row says (join and pick-up write more, expire is set-based). */
type RowOnlyAction = Exclude<OrderAction, 'join' | 'expire' | 'pick_up'>;
const rowOnlyCas = new Map<RowOnlyAction, ReturnType<typeof casStatements>>();

/** The compare-and-set of such an action. Undefined when any check failed (classify with one read). */
export async function transitionOrder(
  tx: Tx,
  action: RowOnlyAction,
  orderId: string,
  condition: VersionCondition,
  actor: Actor,
): Promise<OrderWithItems | undefined> {
  let statements = rowOnlyCas.get(action);
  if (!statements) rowOnlyCas.set(action, (statements = casStatements(action)));
  return firstThatApplies(tx, statements(condition, actor), casParams(orderId, condition, actor));
}

// The rider who picks an order up is written with the compare-and-set.
const pickUpCas = casStatements('pick_up', (query, p) => query.set({ rider_id: p.userId }));

/** The pick-up's compare-and-set: the first rider to get here is the order's rider. */
export async function pickUpTransition(tx: Tx, orderId: string, condition: VersionCondition, riderId: string) {
  const actor = { kind: 'user', userId: riderId } as const;
  return firstThatApplies(tx, pickUpCas(condition, actor), casParams(orderId, condition, actor));
}

type JoinParams = CasParams & { joinerMenuTotal: number | null; splitType: SplitType; acceptMinutes: number };

// A joiner is never the creator; and a join without items fits only a split order, one with
// items only a separate one (so the join needs no read before this statement). The store's
// answering deadline starts with the match, by the database's clock.
const joinCas = casStatements('join', (query, p) =>
  query
    .set({
      joiner_id: p.userId,
      joiner_menu_total: (p as JoinParams).joinerMenuTotal,
      accept_by: sql<Date>`now() + make_interval(mins => ${(p as JoinParams).acceptMinutes})`,
    })
    .where('creator_id', '<>', p.userId)
    .where('split_type', '=', (p as JoinParams).splitType),
);

/** The join's compare-and-set: the joiner, and their menu total for a separate order, written with it. */
export async function joinTransition(
  tx: Tx,
  orderId: string,
  condition: VersionCondition,
  joiner: { userId: string; joinerMenuTotal: number | null; splitType: SplitType; acceptMinutes: number },
): Promise<OrderWithItems | undefined> {
  const actor = { kind: 'user', userId: joiner.userId } as const;
  return firstThatApplies(tx, joinCas(condition, actor), { ...casParams(orderId, condition, actor), ...joiner });
}

export interface ExpireTarget {
  id: string;
  condition: VersionCondition;
}

/** What refunding and telling the creator of an expired order needs: all the sweeper reads back. */
export type ExpiredOrder = Pick<Order, 'id' | 'creator_id' | 'split_type' | 'menu_total' | 'delivery_tip'>;

/** What refunding both participants of an order needs. */
export type RefundableOrder = ExpiredOrder & Pick<Order, 'joiner_id' | 'joiner_menu_total'>;

/**
 * A sweeper's compare-and-set of `action`'s (first) row for many orders in one UPDATE (or of one
 * order, for anyone): each is checked for state, clock and version, and `also` (the reject
 * sweeper's deadline), and bumped once; `returned` is what comes back of those it changed.
 */
async function casMany<Row>(
  tx: Tx,
  action: 'expire' | 'reject',
  targets: ExpireTarget[],
  returned: RawBuilder<unknown>,
  also: RawBuilder<SqlBool> = sql<SqlBool>`true`,
): Promise<Row[]> {
  if (targets.length === 0) return [];
  const row = transitionOf(action);
  // One (id, version) row per version If-Match allows; a null version matches any ('*').
  const ids: string[] = [];
  const versions: (number | null)[] = [];
  for (const { id, condition } of targets) {
    const allowed = condition.any ? [null] : condition.versions.length ? [...new Set(condition.versions)] : [0];
    for (const version of allowed) {
      ids.push(id);
      versions.push(version);
    }
  }
  const { rows } = await sql<Row>`
    UPDATE orders o SET status = ${row.to}, version = o.version + 1, ${sql.ref(row.stamps)} = now()
    FROM unnest(${ids}::uuid[], ${versions}::int[]) AS t(id, version)
    WHERE o.id = t.id AND o.status = ${row.from} AND ${CLOCK_SQL[row.clock] ?? sql`true`} AND ${also}
      AND (t.version IS NULL OR o.version = t.version)
    RETURNING ${returned}`.execute(tx);
  return rows;
}

/** Expires a sweeper's batch, reading back only what the refunds need (five columns a row, not twenty). */
export function expireForRefunds(tx: Tx, targets: ExpireTarget[]): Promise<ExpiredOrder[]> {
  return casMany(tx, 'expire', targets, sql`o.id, o.creator_id, o.split_type, o.menu_total, o.delivery_tip`);
}

/** Expires orders and reads them back whole, with their items, for an answer. */
export function expireWhole(tx: Tx, targets: ExpireTarget[]): Promise<OrderWithItems[]> {
  return casMany(tx, 'expire', targets, sql`o.*, ${itemsOf(sql.ref('o.id'))} AS items`);
}

/** Rejects a sweeper's batch of orders the store left unanswered past accept_by: what the refunds need. */
export function rejectUnanswered(tx: Tx, targets: ExpireTarget[]): Promise<RefundableOrder[]> {
  return casMany(
    tx,
    'reject',
    targets,
    sql`o.id, o.creator_id, o.joiner_id, o.split_type, o.menu_total, o.joiner_menu_total, o.delivery_tip`,
    sql<SqlBool>`o.accept_by <= now()`,
  );
}

export interface NearbyQuery {
  userId: string;
  lat: number;
  lon: number;
  radiusM: number;
  box: { minLat: number; maxLat: number; minLon: number; maxLon: number };
  category?: string;
  after?: { distance: number; id: string };
  limit: number;
}

type NearbyParams = {
  lat: number;
  lon: number;
  minLon: number;
  minLat: number;
  maxLon: number;
  maxLat: number;
  userId: string;
  category: string;
  radiusM: number;
  afterDistance: number;
  afterId: string;
  take: number;
};

// One statement per combination of the optional filters, each built and compiled once.
const nearbyStatement = (withCategory: boolean, withAfter: boolean) =>
  precompiled(
    (_, p: NearbyParams) => sql<Order & { distance_m: number }>`
    SELECT * FROM (
      SELECT o.*, great_circle_m(${p.lat}, ${p.lon}, o.delivery_lat, o.delivery_lon) AS distance_m
      FROM orders o
      WHERE o.status = 'pending'
        AND point(o.delivery_lon, o.delivery_lat) <@ box(point(${p.minLon}, ${p.minLat}), point(${p.maxLon}, ${p.maxLat}))
        AND o.expires_at > now()
        AND o.creator_id <> ${p.userId}
        ${withCategory ? sql`AND o.store_id IN (SELECT id FROM stores WHERE category = ${p.category})` : sql``}
    ) nearby
    WHERE distance_m <= ${p.radiusM}
      ${withAfter ? sql`AND (distance_m, id) > (${p.afterDistance}, ${p.afterId}::uuid)` : sql``}
    ORDER BY distance_m, id
    LIMIT ${p.take}`,
  );
const nearbyStatements = {
  plain: nearbyStatement(false, false),
  category: nearbyStatement(true, false),
  after: nearbyStatement(false, true),
  categoryAfter: nearbyStatement(true, true),
};

const itemsOfOrdersStatement = precompiled((db, p: { orderIds: string[] }) =>
  db
    .selectFrom('order_items')
    .select(['order_id', 'user_id', 'menu_id', 'name', 'quantity', 'unit_price'])
    .where(sql<SqlBool>`order_id = ANY(${p.orderIds}::uuid[])`)
    .orderBy('id'),
);

/**
 * Joinable orders near a point, nearest first: the GiST index on pending delivery points narrows
 * to the bounding box, then the exact great-circle distance filters and sorts. One statement.
 */
export async function findNearbyOrders(db: Db, q: NearbyQuery): Promise<(OrderWithItems & { distance_m: number })[]> {
  const statement = q.category
    ? q.after
      ? nearbyStatements.categoryAfter
      : nearbyStatements.category
    : q.after
      ? nearbyStatements.after
      : nearbyStatements.plain;
  const rows = await statement(db, {
    lat: q.lat,
    lon: q.lon,
    ...q.box,
    userId: q.userId,
    category: q.category ?? '',
    radiusM: q.radiusM,
    afterDistance: q.after?.distance ?? 0,
    afterId: q.after?.id ?? '',
    take: q.limit + 1,
  });
  if (rows.length === 0) return [];
  // Items for the whole page in a second statement, whatever the page size; grouped in one pass.
  const items = await itemsOfOrdersStatement(db, { orderIds: rows.map((r) => r.id) });
  const page = rows as (OrderWithItems & { distance_m: number })[];
  const itemsByOrder = new Map<string, PresentableItem[]>();
  // The rows are this call's own: each gets its items in place rather than as a copy.
  for (const row of page) itemsByOrder.set(row.id, (row.items = []));
  for (const { order_id, ...item } of items) itemsByOrder.get(order_id)?.push(item);
  return page;
}

export interface MyOrdersQuery {
  userId: string;
  role?: 'created' | 'joined';
  status?: OrderStatus;
  after?: { created_at: string; id: string };
  limit: number;
}

export function findMyOrders(db: Db, q: MyOrdersQuery): Promise<(OrderWithItems & { cursor_created_at: string })[]> {
  let query = db
    .selectFrom('orders as o')
    .selectAll('o')
    .select((eb) => itemsOf(eb.ref('o.id')).as('items'))
    // The cursor needs the stored microseconds: a JS Date keeps milliseconds, and a page boundary
    // at .123 would skip every order created later within that same millisecond.
    .select(sql<string>`to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('cursor_created_at'));
  if (q.role === 'created') query = query.where('o.creator_id', '=', q.userId);
  else if (q.role === 'joined') query = query.where('o.joiner_id', '=', q.userId);
  else query = query.where((eb) => eb.or([eb('o.creator_id', '=', q.userId), eb('o.joiner_id', '=', q.userId)]));
  if (q.status) query = query.where('o.status', '=', q.status);
  if (q.after) {
    const { created_at, id } = q.after;
    // ::text first: a timestamptz parameter would be sent through a JS Date (milliseconds).
    query = query.where(sql<SqlBool>`(o.created_at, o.id) < (${created_at}::text::timestamptz, ${id}::uuid)`);
  }
  return query
    .orderBy('o.created_at', 'desc')
    .orderBy('o.id', 'desc')
    .limit(q.limit + 1)
    .execute() as Promise<(OrderWithItems & { cursor_created_at: string })[]>;
}

/**
 * Orders the expire row applies to by the clock (pending, past expires_at), locked for this sweeper
 * only; with `share`, only one share of the creators: sweepers of one instance that work side by
 * side then never wait for each other on a creator's row (refunds lock it).
 */
export function lockOverdueOrders(tx: Tx, limit: number, share?: { index: number; of: number }) {
  const row = transitionOf('expire');
  // The state is a literal, not a parameter: a prepared statement's generic plan can then still
  // use the partial index (WHERE status = 'pending') instead of scanning orders.
  let query = tx
    .selectFrom('orders')
    .select(['id', 'version', 'creator_id'])
    .where(sql<SqlBool>`status = ${sql.lit(row.from)}`)
    .where(CLOCK_SQL[row.clock] ?? sql<SqlBool>`true`);
  if (share && share.of > 1) query = query.where(sql<SqlBool>`mod(abs(hashtext(creator_id::text)), ${share.of}) = ${share.index}`);
  return query.orderBy('expires_at').limit(limit).forUpdate().skipLocked().execute();
}

/** Matched orders the store has not answered by accept_by, locked for this sweeper only. */
export function lockUnansweredOrders(tx: Tx, limit: number) {
  return tx
    .selectFrom('orders')
    .select(['id', 'version'])
    .where(sql<SqlBool>`status = ${sql.lit(transitionOf('reject').from)}`)
    .where(sql<SqlBool>`accept_by <= now()`)
    .orderBy('accept_by')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

// The stored microseconds of a timestamp, for a cursor (a JS Date keeps milliseconds only).
const cursorTime = (column: RawBuilder<unknown>) => sql<string>`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export interface StoreOrdersQuery {
  storeId: string;
  statuses: OrderStatus[];
  after?: { created_at: string; id: string };
  limit: number;
}

/** A store's queue: its orders in `statuses`, oldest first (first come, first cooked). */
export async function findStoreOrders(db: Db, q: StoreOrdersQuery): Promise<(OrderWithItems & { cursor_created_at: string })[]> {
  const { rows } = await sql<OrderWithItems & { cursor_created_at: string }>`
    SELECT o.*, ${itemsOf(sql.ref('o.id'))} AS items, ${cursorTime(sql.ref('o.created_at'))} AS cursor_created_at
    FROM orders o
    WHERE o.store_id = ${q.storeId} AND o.status = ANY(${q.statuses}::text[])
      ${q.after ? sql`AND (o.created_at, o.id) > (${q.after.created_at}::text::timestamptz, ${q.after.id}::uuid)` : sql``}
    ORDER BY o.created_at, o.id
    LIMIT ${q.limit + 1}`.execute(db);
  return rows;
}

export interface DeliveriesQuery {
  lat: number;
  lon: number;
  radiusM: number;
  after?: { distance: number; id: string };
  limit: number;
}

/** Orders ready for pick-up whose store is within `radiusM` of a rider's point, nearest store first. */
export async function findReadyOrders(db: Db, q: DeliveriesQuery): Promise<(OrderWithItems & { distance_m: number; trip_m: number })[]> {
  const { rows } = await sql<OrderWithItems & { distance_m: number; trip_m: number }>`
    SELECT * FROM (
      SELECT o.*, ${itemsOf(sql.ref('o.id'))} AS items, great_circle_m(${q.lat}, ${q.lon}, s.lat, s.lon) AS distance_m,
             great_circle_m(s.lat, s.lon, o.delivery_lat, o.delivery_lon) AS trip_m
      FROM orders o JOIN stores s ON s.id = o.store_id
      WHERE o.status = 'ready') ready
    WHERE distance_m <= ${q.radiusM}
      ${q.after ? sql`AND (distance_m, id) > (${q.after.distance}, ${q.after.id}::uuid)` : sql``}
    ORDER BY distance_m, id
    LIMIT ${q.limit + 1}`.execute(db);
  return rows;
}

/** The orders a rider picked up, latest pick-up first. */
export async function findRiderOrders(
  db: Db,
  q: { riderId: string; after?: { picked_up_at: string; id: string }; limit: number },
): Promise<(OrderWithItems & { cursor_picked_up_at: string })[]> {
  const { rows } = await sql<OrderWithItems & { cursor_picked_up_at: string }>`
    SELECT o.*, ${itemsOf(sql.ref('o.id'))} AS items, ${cursorTime(sql.ref('o.picked_up_at'))} AS cursor_picked_up_at
    FROM orders o
    WHERE o.rider_id = ${q.riderId}
      ${q.after ? sql`AND (o.picked_up_at, o.id) < (${q.after.picked_up_at}::text::timestamptz, ${q.after.id}::uuid)` : sql``}
    ORDER BY o.picked_up_at DESC, o.id DESC
    LIMIT ${q.limit + 1}`.execute(db);
  return rows;
}
