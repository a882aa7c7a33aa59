/**
 * What an Idempotency-Key may be: 1 to 255 printable ASCII characters (space to tilde), so it is
 * sent as a header value unchanged and compared character for character. The request check and the
 * OpenAPI parameter schema are built from this; the idempotency_keys.key CHECK of the schema says
 * the same, and test/unit/idempotency-key.test.ts holds that CHECK to it.
 */
export const IDEMPOTENCY_KEY = {
  minLength: 1,
  maxLength: 255,
  // What each character may be; minLength and maxLength bound how many (as in JSON Schema).
  pattern: '^[\\x20-\\x7E]+$',
} as const;

/** The rule in words, for error messages and the contract's prose. */
export const IDEMPOTENCY_KEY_RULE = `${IDEMPOTENCY_KEY.minLength}–${IDEMPOTENCY_KEY.maxLength} printable ASCII characters`;

const KEY_CHARACTERS = new RegExp(IDEMPOTENCY_KEY.pattern);

export function isIdempotencyKey(key: string): boolean {
  return key.length >= IDEMPOTENCY_KEY.minLength && key.length <= IDEMPOTENCY_KEY.maxLength && KEY_CHARACTERS.test(key);
}
