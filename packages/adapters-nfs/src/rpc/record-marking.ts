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
 * fragments concatenated. A record above `maxRecordBytes` throws {@link XdrError} before
 * any of it is buffered, so a hostile or broken peer cannot make the client allocate
 * without bound.
 *
 * @example
 * ```ts
 * const decoder = new RecordDecoder(4 * 1024 * 1024)
 * socket.on('data', (chunk) => { for (const record of decoder.push(chunk)) dispatch(record) })
 * ```
 */
export class RecordDecoder {
  readonly #max: number
  /** Received bytes not consumed yet, oldest first; `#head` is consumed from the first. */
  #queue: Buffer[] = []
  #head = 0
  #available = 0
  /** Fragments of the record being assembled. */
  #fragments: Buffer[] = []
  #recordBytes = 0
  /** Length and last flag of the fragment whose mark was read, if its body is pending. */
  #fragment: { length: number; last: boolean } | undefined

  constructor(maxRecordBytes: number) {
    this.#max = maxRecordBytes
  }

  /** Bytes held: received but not yet returned as a record. */
  get buffered(): number {
    return this.#available + this.#recordBytes
  }

  /** Feeds received bytes; returns the records they complete, in order. */
  push(chunk: Uint8Array): Buffer[] {
    if (chunk.length > 0) {
      this.#queue.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk))
      this.#available += chunk.length
    }
    const records: Buffer[] = []
    for (;;) {
      if (!this.#fragment) {
        if (this.#available < 4) break
        const mark = this.#take(4).readUInt32BE(0)
        const length = mark & MAX_FRAGMENT_BYTES
        if (this.#recordBytes + length > this.#max)
          throw new XdrError(`RPC record larger than ${this.#max} bytes`)
        this.#fragment = { length, last: (mark & LAST_FRAGMENT) !== 0 }
      }
      const { length, last } = this.#fragment
      if (this.#available < length) break
      this.#fragment = undefined
      if (length > 0) {
        this.#fragments.push(this.#take(length))
        this.#recordBytes += length
      }
      if (last) {
        const parts = this.#fragments
        records.push(parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.#recordBytes))
        this.#fragments = []
        this.#recordBytes = 0
      }
    }
    return records
  }

  /** Removes `n` available bytes: a view when they sit in one chunk, else a copy. */
  #take(n: number): Buffer {
    const first = this.#queue[0]!
    if (first.length - this.#head >= n) {
      const out = first.subarray(this.#head, this.#head + n)
      this.#advance(n)
      return out
    }
    const out = Buffer.allocUnsafe(n)
    let at = 0
    while (at < n) {
      const chunk = this.#queue[0]!
      const count = Math.min(n - at, chunk.length - this.#head)
      chunk.copy(out, at, this.#head, this.#head + count)
      at += count
      this.#advance(count)
    }
    return out
  }

  #advance(n: number): void {
    this.#head += n
    this.#available -= n
    if (this.#head === this.#queue[0]!.length) {
      this.#queue.shift()
      this.#head = 0
    }
  }
}
