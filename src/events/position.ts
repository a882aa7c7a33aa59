/**
 * Where an event stands in the log: its writing transaction, then its own id. Streams deliver in
 * this order, so it only grows along a stream; as an SSE `id:` it is written `<xid>-<id>`, and a
 * client hands it back (Last-Event-ID) as it got it.
 */
export interface Position {
  xid: string;
  id: string;
}

// xid8 is unsigned 64-bit, the id a bigint: at most 20 and 19 digits.
export const POSITION_PATTERN = '^(0|[1-9][0-9]{0,19})-(0|[1-9][0-9]{0,18})$';
const PATTERN = new RegExp(POSITION_PATTERN);
const XID_MAX = 2n ** 64n - 1n;
const ID_MAX = 2n ** 63n - 1n;

export const formatPosition = (p: Position) => `${p.xid}-${p.id}`;

/** The position a client sent, or undefined when it is not one this service writes. */
export function parsePosition(text: string): Position | undefined {
  const match = PATTERN.exec(text);
  if (!match || BigInt(match[1]) > XID_MAX || BigInt(match[2]) > ID_MAX) return undefined;
  return { xid: match[1], id: match[2] };
}

/** Whether `a` comes after `b`. */
export function isAfter(a: Position, b: Position): boolean {
  const ax = BigInt(a.xid);
  const bx = BigInt(b.xid);
  return ax !== bx ? ax > bx : BigInt(a.id) > BigInt(b.id);
}
