import { sql } from 'kysely';
import type { Db, Tx } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import type { Roles } from '../domain/order-state.js';

/**
 * Store staff and riders: granted by an operator (npm run admin) in production, by the development
 * login elsewhere. A grant is idempotent; a revoke deletes the role's row.
 */

/** The stores a user is staff of, and whether they ride: one statement. */
export async function rolesOf(db: Db | Tx, userId: string): Promise<Roles> {
  const { rows } = await sql<{ staff_of: string[]; rider: boolean }>`
    SELECT coalesce((SELECT array_agg(store_id::text ORDER BY store_id) FROM store_staff WHERE user_id = ${userId}), '{}') AS staff_of,
           EXISTS (SELECT FROM riders WHERE user_id = ${userId}) AS rider`.execute(db);
  return { staffOf: rows[0].staff_of, rider: rows[0].rider };
}

export async function isStaffOf(db: Db | Tx, userId: string, storeId: string): Promise<boolean> {
  const row = await db
    .selectFrom('store_staff')
    .select('user_id')
    .where('user_id', '=', userId)
    .where('store_id', '=', storeId)
    .executeTakeFirst();
  return row !== undefined;
}

export async function isRider(db: Db | Tx, userId: string): Promise<boolean> {
  return (await db.selectFrom('riders').select('user_id').where('user_id', '=', userId).executeTakeFirst()) !== undefined;
}

/** Makes a user staff of stores (422 unknown_store if one does not exist; nothing granted then). */
export async function grantStaff(tx: Tx, userId: string, storeIds: string[]): Promise<void> {
  if (storeIds.length === 0) return;
  const { rows } = await sql<{ id: string }>`
    SELECT id FROM unnest(${storeIds}::uuid[]) AS t(id) WHERE NOT EXISTS (SELECT FROM stores s WHERE s.id = t.id)`.execute(tx);
  if (rows.length) throw new DomainError('unknown_store', `No store ${rows.map((r) => r.id).join(', ')}.`);
  await sql`
    INSERT INTO store_staff (user_id, store_id) SELECT ${userId}::uuid, id FROM unnest(${storeIds}::uuid[]) AS t(id)
    ON CONFLICT DO NOTHING`.execute(tx);
}

export async function revokeStaff(db: Db | Tx, userId: string, storeId: string): Promise<boolean> {
  const result = await db.deleteFrom('store_staff').where('user_id', '=', userId).where('store_id', '=', storeId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function grantRider(db: Db | Tx, userId: string): Promise<void> {
  await db
    .insertInto('riders')
    .values({ user_id: userId })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export async function revokeRider(db: Db | Tx, userId: string): Promise<boolean> {
  const result = await db.deleteFrom('riders').where('user_id', '=', userId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** What the development login asks for: staff of `staffOf`, and a rider if `rider`. Grants only. */
export async function grantDevRoles(tx: Tx, userId: string, wanted: { staff_of?: string[]; rider?: boolean }): Promise<void> {
  await grantStaff(tx, userId, wanted.staff_of ?? []);
  if (wanted.rider) await grantRider(tx, userId);
}

/** Every role held, by user: what the operator lists. */
export function listRoles(db: Db) {
  return sql<{ email: string | null; user_id: string; role: 'staff' | 'rider'; store_id: string | null; store_name: string | null }>`
    SELECT u.email, u.id AS user_id, 'staff' AS role, s.id AS store_id, s.name AS store_name
    FROM store_staff r JOIN users u ON u.id = r.user_id JOIN stores s ON s.id = r.store_id
    UNION ALL
    SELECT u.email, u.id, 'rider', NULL, NULL FROM riders r JOIN users u ON u.id = r.user_id
    ORDER BY email, role, store_name`
    .execute(db)
    .then((r) => r.rows);
}
