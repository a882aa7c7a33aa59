import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import { DomainError } from '../domain/errors.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Opaque cursors: the last row's sort key, sealed (AES-256-GCM) with a key of the service's own.
 * A client can neither read one (a nearby cursor holds an exact distance) nor forge or alter one:
 * anything the service did not issue is a 400, before it gets near a query.
 */
export interface Cursors {
  encode(position: unknown): string;
  /** The position a cursor holds (checked against `schema`), or undefined without one. */
  decode<T>(cursor: string | undefined, schema: z.ZodType<T>): T | undefined;
  /** Takes limit+1 rows and tells, with a cursor, whether there is a next page. */
  page<T>(rows: T[], limit: number, positionOf: (row: T) => unknown): { items: T[]; next_cursor: string | null };
}

/** Derives the cursor key from the service secret (never the secret itself). */
export function cursorKey(secret: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'co-order', 'cursors', 32));
}

export function cursorCodec(key: Buffer): Cursors {
  const invalid = () =>
    new DomainError('validation_failed', 'cursor is not a cursor this API issued.', {
      errors: [{ path: 'query.cursor', message: 'invalid cursor' }],
    });
  const encode = (position: unknown) => {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const sealed = Buffer.concat([cipher.update(JSON.stringify(position), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
  };
  return {
    encode,
    decode(cursor, schema) {
      if (cursor === undefined) return undefined;
      const bytes = Buffer.from(cursor, 'base64url');
      if (bytes.length <= IV_BYTES + TAG_BYTES || bytes.toString('base64url') !== cursor) throw invalid();
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
        decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
        const text = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
        const parsed = schema.safeParse(JSON.parse(text.toString('utf8')));
        if (parsed.success) return parsed.data;
      } catch {
        // fall through to the 400 below
      }
      throw invalid();
    },
    page(rows, limit, positionOf) {
      const items = rows.slice(0, limit);
      const last = items.at(-1);
      return { items, next_cursor: rows.length > limit && last !== undefined ? encode(positionOf(last)) : null };
    },
  };
}
