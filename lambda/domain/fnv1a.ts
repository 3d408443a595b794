/**
 * 32-bit FNV-1a of the UTF-16 code units: a stable, fast, non-cryptographic hash for spreading values (event
 * ids over sample slots) and naming them shortly (an identity's chat thread). Never for anything an attacker
 * could profit from colliding.
 */
export function fnv1a(value: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i += 1) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
