import { z } from '@hono/zod-openapi';
import { DomainError } from '../domain/errors.js';

/** Opaque cursors: base64url JSON of the last row's sort key. Clients must not build them. */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through to the 400 below
  }
  throw new DomainError('validation_failed', 'cursor is not a cursor this API issued.', {
    errors: [{ path: 'query.cursor', message: 'invalid cursor' }],
  });
}

/** Takes limit+1 rows and tells whether there is a next page. */
export function page<T>(rows: T[], limit: number, positionOf: (row: T) => unknown) {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    next_cursor: rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null,
  };
}
