/**
 * Deterministic bytes (xorshift32), the same as `pseudoRandomBytes` of the core test kit,
 * for code that runs outside vitest (the crash-test child cannot import the kit).
 *
 * @example
 * ```ts
 * const block = prngBytes(4096, 7)
 * ```
 */
export function prngBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}
