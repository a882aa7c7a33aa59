import { z } from '@hono/zod-openapi';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { randomBytes } from 'node:crypto';
import { cursorCodec, cursorKey } from '../../src/http/pagination.js';
import { PROBLEMS } from '../../src/http/problem.js';

const StoreCursor = z.object({ name: z.string(), id: z.string().uuid() });
const LedgerCursor = z.object({ id: z.number().int() });

function expectBadCursor(run: () => unknown) {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(DomainError);
  const error = thrown as DomainError;
  expect(error.code).toBe('validation_failed');
  expect(PROBLEMS[error.code].status).toBe(400);
  expect(error.extensions.errors).toEqual([{ path: 'query.cursor', message: 'invalid cursor' }]);
}

const b64 = (text: string) => Buffer.from(text).toString('base64url');
const cursors = cursorCodec(cursorKey(randomBytes(32)));
const { decode: decodeCursor, encode: encodeCursor, page } = cursors;

function flipOne(cursor: string): string {
  const at = Math.floor(cursor.length / 2);
  return cursor.slice(0, at) + (cursor[at] === 'A' ? 'B' : 'A') + cursor.slice(at + 1);
}

describe('cursors', () => {
  it('cannot be read by the client: the position is not in the cursor in plain text', () => {
    const cursor = encodeCursor({ distance: 123.456, id: '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f' });
    expect(Buffer.from(cursor, 'base64url').toString('latin1')).not.toMatch(/123|6f1c2d3e|distance/);
  });

  it('change with every encoding (a fresh nonce), and each decodes to the same position', () => {
    const [a, b] = [encodeCursor({ id: 7 }), encodeCursor({ id: 7 })];
    expect(a).not.toBe(b);
    expect([decodeCursor(a, LedgerCursor), decodeCursor(b, LedgerCursor)]).toEqual([{ id: 7 }, { id: 7 }]);
  });

  it('round-trip any position through encode and decode', () => {
    fc.assert(
      fc.property(fc.record({ name: fc.string({ maxLength: 100 }), id: fc.uuid() }), (position) => {
        const cursor = encodeCursor(position);
        expect(cursor).toMatch(/^[A-Za-z0-9_-]*$/);
        expect(decodeCursor(cursor, StoreCursor)).toEqual(position);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), (id) => {
        expect(decodeCursor(encodeCursor({ id }), LedgerCursor)).toEqual({ id });
      }),
    );
  });

  it('decodes no cursor as the first page', () => {
    expect(decodeCursor(undefined, LedgerCursor)).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['not base64 JSON', 'not-a-cursor'],
    ['punctuation', '!!!$$$'],
    ['JSON null', b64('null')],
    ['a JSON array', b64('[1]')],
    ['a number', b64('42')],
    ['the wrong shape', b64('{"name":"x"}')],
    ['a non-uuid id', b64('{"name":"x","id":"123"}')],
    ['a string where a number belongs', b64('{"id":"7"}')],
    ['a fraction where an integer belongs', b64('{"id":7.5}')],
    ['truncated JSON', b64('{"id":7')],
    ['a valid position, not sealed', b64('{"id":7}')],
    ['a date before year 1, not sealed', b64('{"created_at":"0000-01-01T00:00:00Z","id":"6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"}')],
    ['a NUL in a string, not sealed', b64('{"name":"a\\u0000b","id":"6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"}')],
    ['sealed, of the wrong shape for both', encodeCursor({ other: 1 })],
    ['sealed by another key', cursorCodec(cursorKey(randomBytes(32))).encode({ id: 7 })],
    ['sealed, one character changed', flipOne(encodeCursor({ id: 7 }))],
    ['sealed, cut short', encodeCursor({ id: 7 }).slice(0, -2)],
    ['sealed, with a character added', `${encodeCursor({ id: 7 })}A`],
  ])('rejects %s as a 400 validation_failed', (_name, cursor) => {
    expectBadCursor(() => decodeCursor(cursor, LedgerCursor));
    expectBadCursor(() => decodeCursor(cursor, StoreCursor));
  });

  it('turns any string into either a valid position or a 400, never another error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (cursor) => {
        try {
          const position = decodeCursor(cursor, LedgerCursor);
          expect(LedgerCursor.safeParse(position).success).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(DomainError);
          expect((error as DomainError).code).toBe('validation_failed');
        }
      }),
    );
  });
});

describe('page', () => {
  const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: 100 - i }));

  it('with limit+1 rows returns limit items and a cursor at the last item', () => {
    const result = page(rows(4), 3, (r) => ({ id: r.id }));
    expect(result.items).toEqual([{ id: 100 }, { id: 99 }, { id: 98 }]);
    expect(decodeCursor(result.next_cursor!, LedgerCursor)).toEqual({ id: 98 });
  });

  it('with at most limit rows is the last page', () => {
    expect(page(rows(3), 3, (r) => r)).toEqual({ items: rows(3), next_cursor: null });
    expect(page(rows(0), 3, (r) => r)).toEqual({ items: [], next_cursor: null });
  });

  it('walks every row exactly once when fed limit+1 rows after each cursor', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 10 }), (total, limit) => {
        const all = rows(total);
        const seen: number[] = [];
        let after: number | undefined;
        for (let pages = 0; pages <= total + 1; pages++) {
          const fetched = all.filter((r) => after === undefined || r.id < after).slice(0, limit + 1);
          const result = page(fetched, limit, (r) => ({ id: r.id }));
          seen.push(...result.items.map((r) => r.id));
          if (result.next_cursor === null) break;
          after = decodeCursor(result.next_cursor, LedgerCursor)!.id;
        }
        expect(seen).toEqual(all.map((r) => r.id));
      }),
    );
  });
});
