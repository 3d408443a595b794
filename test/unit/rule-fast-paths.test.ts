import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashEventId, parseEventTime, parseIsoTime } from '../../lambda/domain/detection/object-aggregator';
import { fieldValues, getField } from '../../lambda/domain/detection/rule';
import { propertyRuns } from '../support/property-seed';

/**
 * The rule's per-record work has fast paths for the common case (one value per path, CloudTrail's own time
 * format). Each must give the general algorithm's answer on every input: these properties compare them with
 * the general algorithms, written here as the rule defined them.
 */

/** fieldValues as ES|QL's multi-value view: every step flattens arrays; nulls and empty strings left out. */
function modelFieldValues(record: unknown, path: string): unknown[] {
  let current: unknown[] = [record];
  for (const step of path.split('.')) {
    const next: unknown[] = [];
    for (const value of current.flatMap((v) => (Array.isArray(v) ? v : [v]))) {
      if (value === null || typeof value !== 'object') continue;
      const child = (value as Record<string, unknown>)[step];
      if (child !== undefined && child !== null) next.push(child);
    }
    current = next;
  }
  return current.flatMap((v) => (Array.isArray(v) ? v : [v])).filter((v) => v !== null && v !== '');
}

function modelGetField(record: unknown, path: string): unknown {
  let current: unknown = record;
  for (const step of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

const key = fc.constantFrom('a', 'b', 'c', '0', 'length', '');
const leaf = fc.oneof(fc.constantFrom('', 'x', 'us-east-1'), fc.integer(), fc.boolean(), fc.constant(null));
const json = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(key, tie('node'), { maxKeys: 3 }),
  ),
})).node;
const path = fc.array(key, { minLength: 1, maxLength: 4 }).map((steps) => steps.join('.'));

describe('the rule’s field reads', () => {
  it('fieldValues gives the multi-value view on any JSON value and path', () => {
    fc.assert(
      fc.property(json, path, (record, at) => {
        // Act
        const values = fieldValues(record, at);

        // Assess
        expect(values).toEqual(modelFieldValues(record, at));
      }),
      { numRuns: propertyRuns(2000) },
    );
  });

  it('getField reads the single value at any path of any JSON value', () => {
    fc.assert(
      fc.property(json, path, (record, at) => {
        expect(getField(record, at)).toEqual(modelGetField(record, at));
      }),
      { numRuns: propertyRuns(1000) },
    );
  });
});

/** Valid times in CloudTrail's layout, from year 1000 to 9999. */
const validTime = fc
  .date({
    min: new Date(Date.UTC(1000, 0, 1)),
    max: new Date(Date.UTC(9999, 11, 31, 23, 59, 59)),
    noInvalidDate: true,
  })
  .map((date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z'));
/** The same layout with one character replaced: a digit out of range, a non-digit, or another separator. */
const nearTime = fc
  .tuple(
    validTime,
    fc.nat(19),
    fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '9', 'x', ' ', '-', 'z', '٣'),
  )
  .map(([text, at, character]) => `${text.slice(0, at)}${character}${text.slice(at + 1)}`);

describe('parseEventTime', () => {
  it('reads CloudTrail’s time layout as the ISO-8601 reading does, valid or not', () => {
    fc.assert(
      fc.property(fc.oneof(validTime, nearTime), (text) => {
        expect(parseEventTime(text)).toBe(parseIsoTime(text));
      }),
      { numRuns: propertyRuns(5000) },
    );
  });

  it.each([
    { case: 'a leap day of a leap century', text: '2000-02-29T00:00:00Z', valid: true },
    { case: 'a leap day of a common century', text: '2100-02-29T00:00:00Z', valid: false },
    { case: 'the last second of a year', text: '2026-12-31T23:59:59Z', valid: true },
    { case: 'the 31st of a 30-day month', text: '2026-11-31T10:00:00Z', valid: false },
    { case: 'year 0999 (the general reading)', text: '0999-01-01T00:00:00Z', valid: true },
  ])('$case', ({ text, valid }) => {
    // Act
    const time = parseEventTime(text);

    // Assess
    expect(time).toBe(parseIsoTime(text));
    expect(time !== undefined).toBe(valid);
  });
});

describe('hashEventId', () => {
  it('is the first 12 characters of SHA-256 in base64url, as stored windows already hold them', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (eventId) => {
        expect(hashEventId(eventId)).toBe(
          createHash('sha256').update(eventId).digest('base64url').slice(0, 12),
        );
      }),
      { numRuns: propertyRuns(500) },
    );
  });
});
