import fc from 'fast-check';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { versionMatches } from '../../src/domain/versions.js';
import { etagOf, notModified, parseIfMatch, requireIfMatch } from '../../src/http/etag.js';
import { PROBLEMS } from '../../src/http/problem.js';

function expectValidationFailure(run: () => unknown) {
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
  expect(error.extensions.errors).toEqual([{ path: 'header.If-Match', message: expect.any(String) }]);
}

describe('etagOf', () => {
  it('is a strong, quoted tag per version', () => {
    expect(etagOf(1)).toBe('"v1"');
    expect(etagOf(42)).toBe('"v42"');
  });

  it('round-trips through parseIfMatch for any version', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2_147_483_647 }), (version) => {
        expect(parseIfMatch(etagOf(version))).toEqual({ any: false, versions: [version] });
      }),
    );
  });
});

describe('parseIfMatch', () => {
  it('reads * as any version', () => {
    expect(parseIfMatch('*')).toEqual({ any: true });
    expect(parseIfMatch('  *  ')).toEqual({ any: true });
    expect(versionMatches(parseIfMatch('*'), 1)).toBe(true);
    expect(versionMatches(parseIfMatch('*'), 987)).toBe(true);
  });

  it('reads a list of tags, with or without spaces', () => {
    expect(parseIfMatch('"v3"')).toEqual({ any: false, versions: [3] });
    expect(parseIfMatch('"v1", "v2","v7"')).toEqual({ any: false, versions: [1, 2, 7] });
    const condition = parseIfMatch('"v1", "v2"');
    expect(versionMatches(condition, 2)).toBe(true);
    expect(versionMatches(condition, 3)).toBe(false);
  });

  it('never matches a weak tag (strong comparison)', () => {
    expect(parseIfMatch('W/"v3"')).toEqual({ any: false, versions: [] });
    expect(parseIfMatch('W/"v3", "v4"')).toEqual({ any: false, versions: [4] });
    expect(versionMatches(parseIfMatch('W/"v3"'), 3)).toBe(false);
  });

  it('accepts well-formed tags it never issued, which match nothing', () => {
    for (const header of ['"abc"', '""', '"v01"', '"V3"', '"3"', '"v-1"', '"v1.5"']) {
      expect(parseIfMatch(header)).toEqual({ any: false, versions: [] });
    }
  });

  it('reads the largest version a PostgreSQL integer holds', () => {
    expect(parseIfMatch('"v2147483647"')).toEqual({ any: false, versions: [2_147_483_647] });
  });

  it.each([
    ['unquoted', 'v3'],
    ['bare number', '3'],
    ['empty', ''],
    ['only spaces', '   '],
    ['unterminated quote', '"v3'],
    ['space inside the quotes', '"v 3"'],
    ['a quote inside the tag', '"v"3"'],
    ['star in a list', '*, "v1"'],
    ['trailing garbage', '"v1" x'],
    ['lower-case weak prefix', 'w/"v1"'],
    ['one bad element in a list', '"v1", v2'],
    // Versions out of range could never match.
    ['version 0', '"v0"'],
    ['version 00', '"v00"'],
    ['one past the largest integer', '"v2147483648"'],
    ['eleven digits', '"v99999999999"'],
    ['out of range in a list', '"v1", "v4294967296"'],
    ['over 512 characters', `"v1", ${Array.from({ length: 100 }, () => '"v2"').join(', ')}`],
  ])('rejects %s (%j) as validation_failed', (_name, header) => {
    expectValidationFailure(() => parseIfMatch(header));
  });

  it('throws only DomainError validation_failed for any garbage', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (header) => {
        try {
          const condition = parseIfMatch(header);
          if (!condition.any) for (const v of condition.versions) expect(Number.isInteger(v) && v >= 1).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(DomainError);
          expect((error as DomainError).code).toBe('validation_failed');
        }
      }),
    );
  });
});

/** A real Hono app around the helpers that read the request, called in-process. */
function probe() {
  const app = new Hono();
  app.get('/not-modified/:version', (c) => c.json({ notModified: notModified(c, Number(c.req.param('version'))) }));
  app.get('/require', (c) => c.json(requireIfMatch(c)));
  app.onError((error) => Response.json({ code: error instanceof DomainError ? error.code : 'other' }, { status: 499 }));
  return app;
}

describe('notModified (If-None-Match)', () => {
  const app = probe();
  const ask = async (version: number, header?: string) => {
    const res = await app.request(`/not-modified/${version}`, { headers: header === undefined ? {} : { 'If-None-Match': header } });
    return ((await res.json()) as { notModified: boolean }).notModified;
  };

  it('is false without the header', async () => {
    expect(await ask(3)).toBe(false);
  });

  it('is true for the current tag, weak or strong, alone or in a list, or *', async () => {
    expect(await ask(3, '"v3"')).toBe(true);
    expect(await ask(3, 'W/"v3"')).toBe(true);
    expect(await ask(3, '"v1", "v3"')).toBe(true);
    expect(await ask(3, '*')).toBe(true);
  });

  it('is false for any other tag', async () => {
    expect(await ask(3, '"v2"')).toBe(false);
    expect(await ask(3, '"v33"')).toBe(false);
    expect(await ask(3, '"v1", W/"v2"')).toBe(false);
    expect(await ask(3, 'v3')).toBe(false);
  });
});

describe('requireIfMatch', () => {
  const app = probe();

  it('is precondition_required (428) without the header', async () => {
    const res = await app.request('/require');
    expect(await res.json()).toEqual({ code: 'precondition_required' });
    expect(PROBLEMS.precondition_required.status).toBe(428);
  });

  it('parses the header when present', async () => {
    expect(await (await app.request('/require', { headers: { 'If-Match': '"v5"' } })).json()).toEqual({ any: false, versions: [5] });
    expect(await (await app.request('/require', { headers: { 'If-Match': 'nonsense' } })).json()).toEqual({ code: 'validation_failed' });
  });
});
