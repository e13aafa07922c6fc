import { XdrError } from './xdr.js'

/** Bit 31 of a record mark: this fragment ends the record (RFC 5531 §11). */
const LAST_FRAGMENT = 0x80000000
/** Largest fragment a record mark can announce (31 bits). */
export const MAX_FRAGMENT_BYTES = 0x7fffffff

/**
 * The record mark of a message sent as one fragment of `length` bytes (RFC 5531 §11).
 *
 * @example
 * ```ts
 * socket.write(recordMark(body.length))
 * socket.write(body)
 * ```
 */
export function recordMark(length: number): Buffer {
  if (!Number.isInteger(length) || length < 0 || length > MAX_FRAGMENT_BYTES)
    throw new RangeError(`record of ${length} bytes cannot be sent as one fragment`)
  const mark = Buffer.allocUnsafe(4)
  mark.writeUInt32BE((LAST_FRAGMENT | length) >>> 0, 0)
  return mark
}

/**
 * Reassembles RPC records from a TCP byte stream (RFC 5531 §11, record marking): each
 * fragment has a 4-byte mark (last-fragment bit + 31-bit length), and a record is its
 * fragments concatenated. Each fragment is copied into a buffer of its announced size as
 * its bytes arrive, so the chunks fed in are never kept: the caller may read the socket
 * into one reused buffer (a 1 MiB READ reply is then one allocation, not sixteen 64 KiB
 * ones plus a concatenation). A record above `maxRecordBytes` throws {@link XdrError}
 * before any of it is buffered, so a hostile or broken peer cannot make the client
 * allocate without bound.
 *
 * @example
 * ```ts
 * const decoder = new RecordDecoder(4 * 1024 * 1024)
 * socket.on('data', (chunk) => { for (const record of decoder.push(chunk)) dispatch(record) })
 * ```
 */
export class RecordDecoder {
  readonly #max: number
  /** The mark being read (it may straddle chunks), and how many of its bytes arrived. */
  readonly #mark = Buffer.alloc(4)
  #markFill = 0
  /** The fragment whose mark was read, its bytes so far, and whether it ends the record. */
  #fragment: Buffer | undefined
  #fragmentFill = 0
  #last = false
  /** Complete fragments of the record being assembled. */
  #fragments: Buffer[] = []
  #recordBytes = 0

  constructor(maxRecordBytes: number) {
    this.#max = maxRecordBytes
  }

  /** Bytes held: received but not yet returned as a record. */
  get buffered(): number {
    return this.#recordBytes + this.#fragmentFill + this.#markFill
  }

  /** Feeds received bytes (copied: `chunk` may be reused after); returns the records they complete. */
  push(chunk: Uint8Array): Buffer[] {
    const records: Buffer[] = []
    let at = 0
    for (;;) {
      if (!this.#fragment) {
        if (at === chunk.length) break
        const n = Math.min(4 - this.#markFill, chunk.length - at)
        this.#mark.set(chunk.subarray(at, at + n), this.#markFill)
        this.#markFill += n
        at += n
        if (this.#markFill < 4) break
        this.#markFill = 0
        const mark = this.#mark.readUInt32BE(0)
        const length = mark & MAX_FRAGMENT_BYTES
        if (this.#recordBytes + length > this.#max)
          throw new XdrError(`RPC record larger than ${this.#max} bytes`)
        this.#fragment = Buffer.allocUnsafe(length)
        this.#last = (mark & LAST_FRAGMENT) !== 0
      }
      const fragment = this.#fragment
      const n = Math.min(fragment.length - this.#fragmentFill, chunk.length - at)
      fragment.set(chunk.subarray(at, at + n), this.#fragmentFill)
      this.#fragmentFill += n
      at += n
      if (this.#fragmentFill < fragment.length) break
      this.#fragment = undefined
      this.#fragmentFill = 0
      if (fragment.length > 0) {
        this.#fragments.push(fragment)
        this.#recordBytes += fragment.length
      }
      if (this.#last) {
        const parts = this.#fragments
        records.push(parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.#recordBytes))
        this.#fragments = []
        this.#recordBytes = 0
      }
    }
    return records
  }
}
