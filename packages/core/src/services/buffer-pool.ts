/** Options of {@link BufferPool}. */
export interface BufferPoolOptions {
  /**
   * Back the buffers with `SharedArrayBuffer`, so worker threads can fill them in place (an
   * engine's `readInto`); plain `ArrayBuffer`s otherwise (what a socket write takes as is).
   * @default true
   */
  readonly shared?: boolean
}

/**
 * Byte buffers kept for reuse by code whose bytes are consumed before the buffer is given
 * back (a JSON read encodes them to base64 at once; a response body goes back once the
 * socket wrote it): nothing is allocated per call, and the garbage collector has no
 * multi-MiB buffers to chase. At most `retainBytes` are kept; larger or surplus buffers are
 * simply dropped. Only buffers this pool made are taken back.
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
  readonly #shared: boolean
  readonly #free: ArrayBufferLike[] = []
  readonly #made = new WeakSet<ArrayBufferLike>()
  #retained = 0

  constructor(retainBytes: number, options: BufferPoolOptions = {}) {
    this.#retainBytes = retainBytes
    this.#shared = options.shared ?? true
  }

  /** A view of `bytes` bytes at offset 0 of a kept buffer that fits, or of a new one. */
  take(bytes: number): Uint8Array {
    // A kept buffer at most twice the size asked: small requests do not pin large buffers.
    const i = this.#free.findIndex((b) => b.byteLength >= bytes && b.byteLength <= 2 * bytes)
    if (i >= 0) {
      const buffer = this.#free.splice(i, 1)[0]!
      this.#retained -= buffer.byteLength
      return new Uint8Array(buffer, 0, bytes)
    }
    const size = Math.max(1, bytes)
    const buffer = this.#shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size)
    this.#made.add(buffer)
    return new Uint8Array(buffer, 0, bytes)
  }

  /** Returns a view's buffer for reuse; the caller must not use the view afterwards. */
  give(view: Uint8Array): void {
    const buffer = view.buffer
    if (!this.#made.has(buffer) || this.#free.includes(buffer)) return
    if (this.#retained + buffer.byteLength > this.#retainBytes) return
    this.#free.push(buffer)
    this.#retained += buffer.byteLength
  }

  /** Bytes kept for reuse. */
  get retainedBytes(): number {
    return this.#retained
  }
}
