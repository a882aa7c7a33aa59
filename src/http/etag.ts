import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { DomainError } from '../domain/errors.js';
import type { VersionCondition } from '../domain/versions.js';

/** Strong ETag of a versioned resource (orders, users): one value per version. */
export function etagOf(version: number): string {
  return `"v${version}"`;
}

/**
 * The 412 of an action whose If-Match no longer names the resource's version: the current
 * representation (as the caller may see it) and its ETag come with it, so the client can decide
 * again without another GET. `note` adds what the client most likely needs to know (e.g. a status).
 */
export function preconditionFailed(resource: string, version: number, current: object, note?: string): DomainError {
  const tag = etagOf(version);
  return new DomainError(
    'precondition_failed',
    `The ${resource} is now at ${tag}${note ? ` (${note})` : ''}; re-read it and decide again.`,
    { current },
    { ETag: tag },
  );
}

const ENTITY_TAG = /^(W\/)?"([\x21\x23-\x7e]*)"$/;
// Versions are PostgreSQL integers: no tag past the largest can ever have been issued.
const MAX_VERSION = 2_147_483_647;
/** The longest If-Match / If-None-Match header read, as the contract documents. */
export const MAX_CONDITION_LENGTH = 512;

const badIfMatch = (message: string) =>
  new DomainError('validation_failed', `If-Match must be "*" or a list of this API's ETags: ${message}.`, {
    errors: [{ path: 'header.If-Match', message }],
  });

/**
 * A tag that could never match is the client's mistake, refused (400): one that is not an entity
 * tag at all, or "v" and a version out of range (0, or past the largest PostgreSQL integer).
 * Well-formed tags that simply do not match — weak ones (If-Match compares strongly), opaque ones
 * this API does not issue — are a 412, as RFC 9110 has it.
 */
export function parseIfMatch(header: string): VersionCondition {
  if (header.length > MAX_CONDITION_LENGTH) throw badIfMatch(`longer than ${MAX_CONDITION_LENGTH} characters`);
  if (header.trim() === '*') return { any: true };
  const versions: number[] = [];
  for (const part of header.split(',')) {
    const match = ENTITY_TAG.exec(part.trim());
    if (!match) throw badIfMatch('not an entity tag');
    const version = /^v(\d+)$/.exec(match[2]);
    if (version && (Number(version[1]) < 1 || Number(version[1]) > MAX_VERSION)) {
      throw badIfMatch(`"${match[2]}" is out of range (versions are 1 to ${MAX_VERSION})`);
    }
    if (!match[1] && version && !version[1].startsWith('0')) versions.push(Number(version[1]));
  }
  return { any: false, versions };
}

/** Every action needs If-Match: a client must say which version it decided on. */
export function requireIfMatch(c: Context): VersionCondition {
  const header = c.req.header('If-Match');
  if (header === undefined) {
    throw new DomainError('precondition_required', 'Send If-Match with the ETag of the version you read.');
  }
  return parseIfMatch(header);
}

/** If-None-Match hit: the client already has this version (weak comparison, as RFC 9110 says). */
export function notModified(c: Context, version: number): boolean {
  return hasTag(c, etagOf(version));
}

/**
 * The ETag of a list page: what it shows of each order (id and version) and whether more follows,
 * so that a poll of an unchanged queue is a 304 (the cursor itself is sealed afresh every time).
 */
export function pageTag(items: { id: string; version: number }[], more: boolean): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([items.map((i) => [i.id, i.version]), more]))
    .digest('base64url');
  return `"p${digest.slice(0, 22)}"`;
}

/** If-None-Match names `tag` (or is *): the client already has it. */
export function hasTag(c: Context, tag: string): boolean {
  const header = c.req.header('If-None-Match');
  if (!header) return false;
  if (header.length > MAX_CONDITION_LENGTH) {
    throw new DomainError('validation_failed', `If-None-Match is longer than ${MAX_CONDITION_LENGTH} characters.`, {
      errors: [{ path: 'header.If-None-Match', message: `longer than ${MAX_CONDITION_LENGTH} characters` }],
    });
  }
  if (header.trim() === '*') return true;
  return header.split(',').some((part) => part.trim().replace(/^W\//, '') === tag);
}
