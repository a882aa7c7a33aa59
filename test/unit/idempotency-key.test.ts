/**
 * The Idempotency-Key rule is the database's: the migrated schema's CHECK on idempotency_keys.key,
 * evaluated by PostgreSQL, accepts exactly the keys src/domain/idempotency-key.ts accepts.
 */
import { describe, expect, it } from 'vitest';
import { IDEMPOTENCY_KEY, isIdempotencyKey } from '../../src/domain/idempotency-key.js';
import { useDatabase } from '../support/use-server.js';

const fresh = useDatabase();

/** The expression of the one CHECK on idempotency_keys.key, as PostgreSQL prints it. */
async function keyCheck(): Promise<string> {
  const checks = await fresh.db.sql<{ definition: string }[]>`
    SELECT pg_get_constraintdef(c.oid) AS definition
    FROM pg_constraint c
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attname = 'key'
    WHERE c.conrelid = 'idempotency_keys'::regclass AND c.contype = 'c' AND c.conkey = ARRAY[a.attnum]`;
  expect(checks, 'one CHECK on idempotency_keys.key alone').toHaveLength(1);
  const expression = /^CHECK \((.*)\)$/.exec(checks[0].definition)?.[1];
  expect(expression, checks[0].definition).toBeDefined();
  return expression!;
}

const { minLength, maxLength } = IDEMPOTENCY_KEY;
// Every single character up to U+00FF but NUL (which PostgreSQL text cannot hold, and no header
// carries), a few past it, every length around the bounds, and keys as clients make them.
const SAMPLES = [
  ...Array.from({ length: 0xff }, (_, i) => String.fromCharCode(i + 1)),
  '\u0100',
  '\u2028',
  '키',
  'é',
  '😀',
  ...[0, minLength, minLength + 1, maxLength - 1, maxLength, maxLength + 1, 600].map((n) => 'k'.repeat(n)),
  ' '.repeat(maxLength),
  '2f9d6c1e-order-42',
  '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f',
  'a b~{}',
  'key\twith tab',
  'key\nwith newline',
  'clé',
  'ok-then-키',
];

describe('the Idempotency-Key rule', () => {
  it('is what the migrated CHECK on idempotency_keys.key allows, key by key', async () => {
    const expression = await keyCheck();
    // The expression is the database's own (read from its catalogue), evaluated on each sample.
    const rows = await fresh.db.sql.unsafe<{ key: string; allowed: boolean }[]>(
      `SELECT key, (${expression}) AS allowed FROM unnest($1::text[]) WITH ORDINALITY AS samples(key, n) ORDER BY n`,
      [SAMPLES],
    );
    expect(rows).toHaveLength(SAMPLES.length);
    const verdicts = rows.map((row) => ({ key: row.key, allowed: row.allowed }));
    expect(verdicts).toEqual(SAMPLES.map((key) => ({ key, allowed: isIdempotencyKey(key) })));
    // Both verdicts occur, so agreeing says something.
    expect(new Set(verdicts.map((v) => v.allowed))).toEqual(new Set([true, false]));
  });
});
