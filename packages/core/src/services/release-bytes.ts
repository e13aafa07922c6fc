/**
 * Frees the memory behind `bytes` at once instead of at V8's next full collection, for a
 * buffer its caller made and no one reads again: ES2024 `ArrayBuffer.prototype.transfer`
 * detaches the whole `ArrayBuffer` (every view of it is empty from then on). Refuses, and
 * returns false, for what could be shared: an empty view, a `SharedArrayBuffer`, or an
 * `ArrayBuffer` no larger than Node's `Buffer` pool (`Buffer.allocUnsafe` hands out slices
 * of one pool to many callers). Without `transfer` (engines before ES2024), it does nothing.
 *
 * Why: big buffers of a streaming path (an upload's part buffers, a decoder's output) die
 * at a steady pace outside V8's heap, and V8 frees them only when it collects the objects
 * holding them; a long transfer left tens of MB of them to the allocator.
 *
 * @example
 * ```ts
 * const out = zlib.zstdDecompressSync(payload)
 * try { target.set(out) } finally { releaseBytes(out) }
 * ```
 */
export function releaseBytes(bytes: Uint8Array): boolean {
  const whole = bytes.buffer as ArrayBufferLike & { transfer?: (length: number) => ArrayBuffer }
  if (bytes.byteLength === 0 || !(whole instanceof ArrayBuffer)) return false
  if (whole.byteLength <= poolBytes() || typeof whole.transfer !== 'function') return false
  whole.transfer(0)
  return true
}

/** The size of Node's `Buffer` pool (8 KiB unless a program changed `Buffer.poolSize`). */
function poolBytes(): number {
  const poolSize = (globalThis as { Buffer?: { poolSize?: number } }).Buffer?.poolSize ?? 0
  return Math.max(8 * 1024, poolSize)
}
