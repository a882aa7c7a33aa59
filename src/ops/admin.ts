/**
 * The operator's command for roles: npm run admin -- <command>
 *
 *   grant-staff <user> <store-id>    make a user staff of a store
 *   revoke-staff <user> <store-id>   take it back
 *   grant-rider <user>               make a user a rider
 *   revoke-rider <user>              take it back
 *   list                             every role held, one a line
 *
 * A user is named by the email they signed in with, or by their id (a person whose identity
 * provider gave no verified email has none); they must have signed in once. It talks to
 * DATABASE_URL directly: roles are granted by whoever may reach the database, never over HTTP.
 * Exits 0 on success, 1 when the user or store is unknown or the role was not held, 2 on misuse.
 */
import { loadConfig } from '../config.js';
import { openDatabase, type Db } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import { grantRider, grantStaff, listRoles, revokeRider, revokeStaff } from '../roles/repository.js';

const USAGE =
  'usage: npm run admin -- grant-staff|revoke-staff <email or user id> <store-id> | grant-rider|revoke-rider <email or user id> | list';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class Refused extends Error {}

async function userId(db: Db, emailOrId: string): Promise<string> {
  const named = emailOrId.trim().toLowerCase();
  const user = await db
    .selectFrom('users')
    .select('id')
    .where(UUID.test(named) ? 'id' : 'email', '=', named)
    .executeTakeFirst();
  if (!user) throw new Refused(`no user signed in as ${emailOrId}`);
  return user.id;
}

async function run(db: Db, [command, email, storeId, ...rest]: string[]): Promise<string> {
  const arity: Record<string, number> = { 'grant-staff': 2, 'revoke-staff': 2, 'grant-rider': 1, 'revoke-rider': 1, list: 0 };
  const given = [email, storeId].filter((a) => a !== undefined).length;
  if (!(command in arity) || given !== arity[command] || rest.length) throw new RangeError(USAGE);
  if (arity[command] === 2 && !UUID.test(storeId)) throw new RangeError(`not a store id: ${storeId}`);
  switch (command) {
    case 'grant-staff': {
      const id = await userId(db, email);
      await db.transaction().execute((tx) => grantStaff(tx, id, [storeId]));
      return `${email} is staff of ${storeId}`;
    }
    case 'revoke-staff':
      if (!(await revokeStaff(db, await userId(db, email), storeId))) throw new Refused(`${email} was not staff of ${storeId}`);
      return `${email} is no longer staff of ${storeId}`;
    case 'grant-rider':
      await grantRider(db, await userId(db, email));
      return `${email} is a rider`;
    case 'revoke-rider':
      if (!(await revokeRider(db, await userId(db, email)))) throw new Refused(`${email} was not a rider`);
      return `${email} is no longer a rider`;
    default: {
      const roles = await listRoles(db);
      return roles
        .map((r) =>
          r.role === 'staff' ? `${r.email ?? r.user_id}\tstaff\t${r.store_id}\t${r.store_name}` : `${r.email ?? r.user_id}\trider`,
        )
        .join('\n');
    }
  }
}

const config = loadConfig();
if (!config.DATABASE_URL) {
  console.error('DATABASE_URL must name the database to change.');
  process.exit(2);
}
const database = openDatabase({ url: config.DATABASE_URL, poolMax: 1, lockWaitMs: 5000, statementTimeoutMs: 30_000, connectTimeoutS: 10 });
let code = 0;
try {
  const out = await run(database.db, process.argv.slice(2));
  if (out) console.log(out);
} catch (error) {
  if (error instanceof RangeError) code = 2;
  else if (error instanceof Refused || error instanceof DomainError) code = 1;
  else throw error;
  console.error((error as Error).message);
} finally {
  await database.close();
}
process.exit(code);
