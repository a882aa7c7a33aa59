/**
 * Text that people type and other people read (names, addresses). Refused: control characters
 * (NUL, CR/LF, tab and the rest of Unicode's Cc), the bidirectional embeddings, overrides and
 * isolates that make text display in another order than it is stored, and invisible characters
 * (zero-width space and joiners, word joiner, BOM, soft hyphen). Normalised, as a person expects:
 * Unicode NFC, any run of spaces (including no-break and ideographic ones) as one space, trimmed.
 */
const HIDDEN_OR_CONTROL = /[\p{Cc}\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/u;

export const TEXT_RULE = 'no control characters (including line breaks and tabs), bidirectional overrides or invisible characters';

export function isPlainText(text: string): boolean {
  return !HIDDEN_OR_CONTROL.test(text);
}

export function normaliseText(text: string): string {
  return text
    .normalize('NFC')
    .replace(/\p{Zs}+/gu, ' ')
    .trim();
}
