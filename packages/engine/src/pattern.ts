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
 * The unit length (1, 2, 4 or 8) of the pattern block at `buf[at, at + len)`, writing the
 * unit to `units` at `unitAt`, or 0 when the block is data. Allocation-free: the analysis
 * of every written block runs through it. An all-zero block is unit length 1 with unit 0.
 *
 * @example
 * ```ts
 * const units = new Uint8Array(8)
 * patternUnit(Buffer.alloc(4096), 0, 4096, units, 0) // 1, units[0] === 0
 * ```
 */
export function patternUnit(
  buf: Buffer,
  at: number,
  len: number,
  units: Uint8Array,
  unitAt: number,
): number {
  if (len === 0) return 0
  if (len > MAX_PERIOD) {
    // Most data blocks differ within the first bytes: a cheap look before the native compare.
    const probe = Math.min(len - MAX_PERIOD, 32)
    for (let i = at; i < at + probe; i++) if (buf[i] !== buf[i + MAX_PERIOD]) return 0
    // An overlapping compare: block[i] === block[i + 8] for every i means period 8 (or a divisor).
    if (buf.compare(buf, at + MAX_PERIOD, at + len, at, at + len - MAX_PERIOD) !== 0) return 0
  }
  const head = Math.min(len, MAX_PERIOD)
  let period = head
  for (const p of [1, 2, 4]) {
    if (p >= head) break
    let same = true
    for (let i = p; i < head; i++) {
      if (buf[at + i] !== buf[at + i - p]) {
        same = false
        break
      }
    }
    if (same) {
      period = p
      break
    }
  }
  const zero = period === 1 && buf[at] === 0
  if (!zero && (len < 2 * MAX_PERIOD || head % period !== 0)) return 0
  for (let i = 0; i < period; i++) units[unitAt + i] = buf[at + i]!
  return period
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
  const units = new Uint8Array(MAX_PERIOD)
  const buf = Buffer.from(block.buffer, block.byteOffset, block.length)
  const period = patternUnit(buf, 0, block.length, units, 0)
  if (period === 0) return undefined
  return { unit: units.slice(0, period), zero: period === 1 && units[0] === 0 }
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
