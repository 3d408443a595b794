import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import wabt from 'wabt';

/** The WebAssembly text of the reader's structural scan. */
export const STRUCTURAL_SCAN_WAT = join(
  import.meta.dirname,
  '..',
  '..',
  'lambda',
  'domain',
  'reading',
  'structural-scan.wat',
);

/** Compiles the structural scan from its text (wabt, SIMD enabled); the same bytes on every machine. */
export async function compileStructuralScan(): Promise<Uint8Array> {
  const source = await readFile(STRUCTURAL_SCAN_WAT, 'utf8');
  const toolkit = await wabt();
  const module = toolkit.parseWat('structural-scan.wat', source, { simd: true });
  try {
    module.validate();
    return module.toBinary({ log: false, write_debug_names: false }).buffer;
  } finally {
    module.destroy();
  }
}
