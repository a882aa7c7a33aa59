import { createHmac, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { DomainError } from '../domain/errors.js';
import type { AppEnv } from '../http/env.js';

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/** The value of X-Payment-Signature for `body`: what the provider sends, and what tests sign with. */
export function paymentSignature(secret: string, body: Uint8Array | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Whether `header` is the signature of exactly these bytes, compared in constant time. */
export function isSignedBy(secret: string, body: Uint8Array, header: string | undefined): boolean {
  const match = header === undefined ? null : SIGNATURE.exec(header.trim());
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(match[1], 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * In front of the webhook's validators: the raw body (the bytes as they came, which limitBody kept)
 * must carry the provider's signature, else 401 before anything is parsed or looked up. Without a
 * webhook secret (demo mode) nothing can be signed, so every call is refused.
 */
export function requirePaymentSignature(secret: string | undefined): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const body = new Uint8Array(await c.req.arrayBuffer());
    if (!secret || !isSignedBy(secret, body, c.req.header('X-Payment-Signature'))) {
      throw new DomainError('webhook_signature_invalid', 'X-Payment-Signature is missing or is not the signature of this body.');
    }
    await next();
  };
}
