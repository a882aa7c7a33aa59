import type { Context } from 'hono';
import { DomainError } from '../domain/errors.js';

/** Strong ETag of a versioned resource (orders, users): one value per version. */
export function etagOf(version: number): string {
  return `"v${version}"`;
}

/** What If-Match asks for: any existing version (`*`) or one of a set of versions. */
export type VersionCondition = { any: true } | { any: false; versions: number[] };

const ENTITY_TAG = /^(W\/)?"([\x21\x23-\x7e]*)"$/;

export function parseIfMatch(header: string): VersionCondition {
  if (header.trim() === '*') return { any: true };
  const versions: number[] = [];
  for (const part of header.split(',')) {
    const match = ENTITY_TAG.exec(part.trim());
    if (!match) {
      throw new DomainError('validation_failed', 'If-Match must be "*" or a list of entity tags.', {
        errors: [{ path: 'header.If-Match', message: 'not an entity tag' }],
      });
    }
    // Weak tags never match under If-Match (strong comparison); tags we never issued match nothing.
    const version = /^v([1-9]\d{0,9})$/.exec(match[2]);
    if (!match[1] && version) versions.push(Number(version[1]));
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

export function versionMatches(condition: VersionCondition, version: number): boolean {
  return condition.any || condition.versions.includes(version);
}

/** If-None-Match hit: the client already has this version (weak comparison, as RFC 9110 says). */
export function notModified(c: Context, version: number): boolean {
  const header = c.req.header('If-None-Match');
  if (!header) return false;
  if (header.trim() === '*') return true;
  const tag = etagOf(version);
  return header.split(',').some((part) => part.trim().replace(/^W\//, '') === tag);
}
