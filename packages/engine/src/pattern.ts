/**
 * Pattern removal (ARCHITECTURE.md, data path step 2): a block that is all zeros, or that
 * repeats a 1-, 2-, 4- or 8-byte pattern, is kept in the block map only.
 */

/** The period of the longest pattern we recognise; every shorter one divides it. */
const MAX_PERIOD = 8

/**
 * What pattern removal found in a block.
 *
 * @example
 * ```ts
 * const found: BlockPattern | undefined = detectPattern(block)
 * ```
 */
export interface BlockPattern {
  /** The repeating unit: 1, 2, 4 or 8 bytes. */
  readonly unit: Uint8Array
  /** True for an all-zero block (counted apart, as zero_blocks_found). */
  readonly zero: boolean
}

/**
 * Detects an all-zero or short-pattern block. Non-zero patterns must repeat at least twice
 * (16 bytes), so a short tail like "Hello" is never mistaken for one.
 *
 * @example
 * ```ts
 * detectPattern(new Uint8Array(4096)) // { unit: Uint8Array [0], zero: true }
 * ```
 */
export function detectPattern(block: Uint8Array): BlockPattern | undefined {
  const len = block.length
  if (len === 0) return undefined
  const buf = Buffer.from(block.buffer, block.byteOffset, len)
  if (len > MAX_PERIOD) {
    // An overlapping compare: block[i] === block[i + 8] for every i means period 8 (or a divisor).
    if (buf.compare(buf, MAX_PERIOD, len, 0, len - MAX_PERIOD) !== 0) return undefined
  }
  const head = buf.subarray(0, Math.min(len, MAX_PERIOD))
  let period = head.length
  for (const p of [1, 2, 4]) {
    if (p >= head.length) break
    if (head.compare(head, p, head.length, 0, head.length - p) === 0) {
      period = p
      break
    }
  }
  const zero = period === 1 && head[0] === 0
  if (!zero && (len < 2 * MAX_PERIOD || head.length % period !== 0)) return undefined
  return { unit: Uint8Array.from(head.subarray(0, period)), zero }
}

/**
 * Materialises a pattern into `out` (the read path of a pattern block).
 *
 * @example
 * ```ts
 * fillPattern(new Uint8Array(12), Uint8Array.of(0xde, 0xad)) // de ad de ad …
 * ```
 */
export function fillPattern(out: Uint8Array, unit: Uint8Array): Uint8Array {
  if (unit.length === 1) return out.fill(unit[0]!)
  const n = Math.min(unit.length, out.length)
  out.set(unit.subarray(0, n))
  // Doubling copies: log2(4096 / 8) steps instead of one per repetition.
  for (let filled = n; filled < out.length; filled *= 2) {
    out.copyWithin(filled, 0, Math.min(filled, out.length - filled))
  }
  return out
}
