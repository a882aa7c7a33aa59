/**
 * The domain's closed lists are the database's: each CHECK of the migrated schema that lists the
 * values of a column allows exactly the values of its list in src/domain/kinds.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  EVENT_KINDS,
  LEDGER_KINDS,
  NOTIFICATION_KINDS,
  ORDER_STATUSES,
  SPLIT_TYPES,
  STORE_LEDGER_KINDS,
  TOP_UP_STATUSES,
} from '../../src/domain/kinds.js';
import { useDatabase } from '../support/use-server.js';

const fresh = useDatabase();

/** The values a CHECK of `table` allows for `column` (`column = ANY (ARRAY['a'::text, …])`). */
async function allowed(table: string, column: string): Promise<string[]> {
  const checks = await fresh.db.sql<{ definition: string }[]>`
    SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint
    WHERE conrelid = ${table}::regclass AND contype = 'c'`;
  const listing = checks
    .map(({ definition }) => new RegExp(`^CHECK \\(\\(${column} = ANY \\(ARRAY\\[(.*)\\]\\)\\)\\)$`).exec(definition)?.[1])
    .filter((list): list is string => list !== undefined);
  expect(listing, `one CHECK lists the values of ${table}.${column}`).toHaveLength(1);
  return [...listing[0].matchAll(/'([^']*)'::text/g)].map((m) => m[1]);
}

describe('the closed lists', () => {
  it.each([
    ['orders', 'status', ORDER_STATUSES],
    ['orders', 'split_type', SPLIT_TYPES],
    ['credit_ledger', 'kind', LEDGER_KINDS],
    ['notifications', 'kind', NOTIFICATION_KINDS],
    ['store_ledger', 'kind', STORE_LEDGER_KINDS],
    ['top_ups', 'status', TOP_UP_STATUSES],
    ['order_events', 'kind', EVENT_KINDS],
  ] as const)('%s.%s allows exactly its list', async (table, column, list) => {
    expect((await allowed(table, column)).sort()).toEqual([...list].sort());
  });
});
