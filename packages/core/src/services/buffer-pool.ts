/**
 * Byte buffers kept for reuse by reads whose bytes are consumed before the next await (a
 * JSON read encodes them to base64 at once): a read then allocates nothing, and the
 * process's garbage collector has no multi-MiB buffers to chase at every call. Backed by
 * `SharedArrayBuffer`, so an engine with compute workers (`readInto`) fills them in place.
 * At most `retainBytes` are kept; larger or surplus buffers are simply dropped.
 *
 * @example
 * ```ts
 * const pool = new BufferPool(8 << 20)
 * const bytes = pool.take(1 << 20)
 * try { use(bytes) } finally { pool.give(bytes) }
 * ```
 */
export class BufferPool {
  readonly #retainBytes: number
  readonly #free: SharedArrayBuffer[] = []
  #retained = 0

  constructor(retainBytes: number) {
    this.#retainBytes = retainBytes
  }

  /** A view of `bytes` bytes (content undefined): a kept buffer that fits, or a new one. */
  take(bytes: number): Uint8Array {
    // A kept buffer at most twice the size asked: small reads do not pin large buffers.
    const i = this.#free.findIndex((b) => b.byteLength >= bytes && b.byteLength <= 2 * bytes)
    if (i >= 0) {
      const buffer = this.#free.splice(i, 1)[0]!
      this.#retained -= buffer.byteLength
      return new Uint8Array(buffer, 0, bytes)
    }
    return new Uint8Array(new SharedArrayBuffer(Math.max(1, bytes)), 0, bytes)
  }

  /** Returns a view's buffer for reuse; the caller must not use the view afterwards. */
  give(view: Uint8Array): void {
    const buffer = view.buffer
    if (!(buffer instanceof SharedArrayBuffer) || this.#free.includes(buffer)) return
    if (this.#retained + buffer.byteLength > this.#retainBytes) return
    this.#free.push(buffer)
    this.#retained += buffer.byteLength
  }

  /** Bytes kept for reuse. */
  get retainedBytes(): number {
    return this.#retained
  }
}
