/**
 * A malformed or truncated XDR stream (RFC 4506): the peer broke the protocol.
 *
 * @example
 * ```ts
 * try { reader.u32() } catch (e) { if (e instanceof XdrError) socket.destroy() }
 * ```
 */
export class XdrError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'XdrError'
  }
}

const TWO_32 = 2 ** 32

/** Bytes of padding after `n` bytes of opaque data (RFC 4506 §4.10: multiples of four). */
function padOf(n: number): number {
  return (4 - (n % 4)) % 4
}

/**
 * Encodes XDR (RFC 4506) into a list of chunks. Small items are packed into one growing
 * buffer; {@link XdrWriter.opaqueRef} adds a large payload by reference, so a 1 MiB WRITE is
 * sent without being copied into the message.
 *
 * @example
 * ```ts
 * const w = new XdrWriter()
 * w.u32(100003).string('a.txt')
 * socket.write(w.toBuffer())
 * ```
 */
export class XdrWriter {
  readonly #chunks: Uint8Array[] = []
  #buf = Buffer.allocUnsafe(256)
  #pos = 0
  #flushed = 0

  /** Bytes written so far. */
  get length(): number {
    return this.#flushed + this.#pos
  }

  #room(n: number): Buffer {
    if (this.#pos + n > this.#buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n))
      this.#buf.copy(next, 0, 0, this.#pos)
      this.#buf = next
    }
    return this.#buf
  }

  /** An unsigned 32-bit integer. */
  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value >= TWO_32)
      throw new RangeError(`u32 out of range: ${value}`)
    this.#room(4).writeUInt32BE(value, this.#pos)
    this.#pos += 4
    return this
  }

  /** A signed 32-bit integer. */
  i32(value: number): this {
    this.#room(4).writeInt32BE(value, this.#pos)
    this.#pos += 4
    return this
  }

  /** An unsigned hyper (64-bit), from a safe integer or a bigint. */
  u64(value: number | bigint): this {
    const big = typeof value === 'bigint' ? value : BigInt(value)
    if (big < 0n || big >= 1n << 64n || (typeof value === 'number' && !Number.isSafeInteger(value)))
      throw new RangeError(`u64 out of range: ${value}`)
    this.#room(8).writeBigUInt64BE(big, this.#pos)
    this.#pos += 8
    return this
  }

  /** A boolean (an enum of FALSE = 0, TRUE = 1). */
  bool(value: boolean): this {
    return this.u32(value ? 1 : 0)
  }

  /** Fixed-length opaque data (no length prefix), padded to four bytes. */
  fixedOpaque(bytes: Uint8Array): this {
    const pad = padOf(bytes.length)
    const buf = this.#room(bytes.length + pad)
    buf.set(bytes, this.#pos)
    buf.fill(0, this.#pos + bytes.length, this.#pos + bytes.length + pad)
    this.#pos += bytes.length + pad
    return this
  }

  /** Variable-length opaque data, copied. */
  opaque(bytes: Uint8Array): this {
    return this.u32(bytes.length).fixedOpaque(bytes)
  }

  /** Variable-length opaque data, referenced rather than copied: do not change it until sent. */
  opaqueRef(bytes: Uint8Array): this {
    this.u32(bytes.length)
    this.#cut()
    if (bytes.length > 0) this.#chunks.push(bytes)
    this.#flushed += bytes.length
    const pad = padOf(bytes.length)
    this.#room(pad).fill(0, this.#pos, this.#pos + pad)
    this.#pos += pad
    return this
  }

  /** A string, UTF-8 encoded. */
  string(value: string): this {
    return this.opaque(Buffer.from(value, 'utf8'))
  }

  #cut(): void {
    if (this.#pos === 0) return
    this.#chunks.push(this.#buf.subarray(0, this.#pos))
    this.#flushed += this.#pos
    this.#buf = Buffer.allocUnsafe(256)
    this.#pos = 0
  }

  /** The encoded chunks, in order (valid until the writer is used again). */
  chunks(): Uint8Array[] {
    this.#cut()
    return [...this.#chunks]
  }

  /** The encoding as one buffer (copies; for small messages and tests). */
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks())
  }
}

/**
 * Decodes XDR (RFC 4506) from one buffer. Every read is bounds-checked and throws
 * {@link XdrError} past the end; opaque data is returned as a view, not a copy.
 *
 * @example
 * ```ts
 * const r = new XdrReader(record)
 * const xid = r.u32()
 * ```
 */
export class XdrReader {
  readonly #buf: Buffer
  #pos: number

  constructor(bytes: Uint8Array, offset = 0) {
    this.#buf = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.#pos = offset
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#buf.length - this.#pos
  }

  #need(n: number): number {
    if (n > this.remaining)
      throw new XdrError(`XDR data truncated: need ${n}, have ${this.remaining}`)
    const at = this.#pos
    this.#pos += n
    return at
  }

  /** An unsigned 32-bit integer. */
  u32(): number {
    return this.#buf.readUInt32BE(this.#need(4))
  }

  /** A signed 32-bit integer. */
  i32(): number {
    return this.#buf.readInt32BE(this.#need(4))
  }

  /** An unsigned hyper as a bigint (cookies, file ids). */
  u64(): bigint {
    return this.#buf.readBigUInt64BE(this.#need(8))
  }

  /** An unsigned hyper that must fit a safe integer (sizes, offsets). */
  u64Number(): number {
    const value = this.u64()
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new XdrError(`hyper too large: ${value}`)
    return Number(value)
  }

  /** A boolean; anything but 0 or 1 is malformed. */
  bool(): boolean {
    const v = this.u32()
    if (v > 1) throw new XdrError(`invalid bool ${v}`)
    return v === 1
  }

  /** Fixed-length opaque data (a view), skipping its padding. */
  fixedOpaque(length: number): Buffer {
    const at = this.#need(length + padOf(length))
    return this.#buf.subarray(at, at + length)
  }

  /** Variable-length opaque data (a view) of at most `max` bytes. */
  opaque(max = 0xffffffff): Buffer {
    const length = this.u32()
    if (length > max) throw new XdrError(`opaque of ${length} bytes exceeds its limit ${max}`)
    return this.fixedOpaque(length)
  }

  /** A string decoded as UTF-8 (lossy); use {@link XdrReader.opaque} for raw names. */
  string(max?: number): string {
    return this.opaque(max).toString('utf8')
  }

  /** Skips `n` bytes. */
  skip(n: number): void {
    this.#need(n)
  }
}
