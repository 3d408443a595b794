import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readCloudTrailRecords } from '../../lambda/domain/cloudtrail-reader';
import { STRUCTURAL_SCAN_WASM_BASE64 } from '../../lambda/domain/structural-scan-wasm';
import { compileStructuralScan } from '../../lib/wasm/compile-structural-scan';
import { propertyRuns } from '../support/property-seed';

/** Splits `bytes` at the given cut points (sorted, deduplicated, inside the buffer). */
function chunked(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    if (point > start) chunks.push(bytes.subarray(start, point));
    start = Math.max(start, point);
  }
  return chunks;
}

/** JSON values rich in what the scanner must get right: escapes, brackets and quotes inside strings. */
const tricky = fc.string({
  unit: fc.constantFrom('a', '"', '\\', '{', '}', '[', ']', ',', ':', 'é', ' ', '\n'),
  maxLength: 40,
});
const value = fc.letrec((tie) => ({
  leaf: fc.oneof(tricky, fc.integer(), fc.boolean(), fc.constant(null)),
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(tricky, tie('node'), { maxKeys: 4 }),
  ),
})).node;
const record = fc.dictionary(tricky, value, { maxKeys: 6 });

describe('the WebAssembly structural scan', () => {
  it('the committed module is the compiled structural-scan.wat (run npm run build:wasm after editing it)', async () => {
    // Act
    const compiled = await compileStructuralScan();

    // Assess
    expect(Buffer.from(compiled).toString('base64')).toBe(STRUCTURAL_SCAN_WASM_BASE64);
  });

  it('finds every record of any JSON, cut into chunks anywhere, exactly as JSON.parse reads it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (records, cuts) => {
          // Prepare
          const bytes = Buffer.from(JSON.stringify({ Records: records }));
          const seen: unknown[] = [];

          // Act
          const stats = await readCloudTrailRecords(Readable.from(chunked(bytes, cuts)), {
            objectName: 'generated',
            needles: [],
            onRecord: (r) => seen.push(r),
          });

          // Assess
          expect(stats.records).toBe(records.length);
          expect(seen).toEqual(JSON.parse(bytes.toString()).Records);
        },
      ),
      { numRuns: propertyRuns(300) },
    );
  });
});
