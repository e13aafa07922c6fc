import { closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { join } from 'node:path'

/** Open file handles kept around; the rest are closed least-recently-used first. */
const MAX_OPEN_FILES = 64

/**
 * The segment files of the simulated flash, one fixed-size file per erase block, with
 * pins: a reader pins the segments it reads from, and erasing a segment waits until its
 * pins are gone, so GC never pulls a record from under a read.
 *
 * @example
 * ```ts
 * const files = new SegmentFiles('/data/engine/segments', 4 << 20)
 * const bytes = await files.read(3, 64, 4160)
 * ```
 */
export class SegmentFiles {
  readonly #dir: string
  readonly #segmentSize: number
  readonly #handles = new Map<number, Promise<FileHandle>>()
  readonly #pins = new Map<number, number>()
  readonly #unpinned = new Map<number, (() => void)[]>()
  #closed = false
  /** A segment file was created since the last directory fsync. */
  #directoryDirty = false

  constructor(dir: string, segmentSize: number) {
    this.#dir = dir
    this.#segmentSize = segmentSize
    mkdirSync(dir, { recursive: true })
  }

  /** Path of a segment's file. */
  path(id: number): string {
    return join(this.#dir, `${String(id).padStart(6, '0')}.seg`)
  }

  /** Marks a segment as being read; call {@link unpin} when done. Synchronous on purpose. */
  pin(id: number): void {
    this.#pins.set(id, (this.#pins.get(id) ?? 0) + 1)
  }

  /** Releases a pin taken with {@link pin}. */
  unpin(id: number): void {
    const left = (this.#pins.get(id) ?? 1) - 1
    if (left > 0) {
      this.#pins.set(id, left)
      return
    }
    this.#pins.delete(id)
    for (const wake of this.#unpinned.get(id) ?? []) wake()
    this.#unpinned.delete(id)
  }

  /** Resolves once nobody reads `id`. */
  async drained(id: number): Promise<void> {
    if (!this.#pins.has(id)) return
    await new Promise<void>((resolve) => {
      const waiting = this.#unpinned.get(id) ?? []
      waiting.push(resolve)
      this.#unpinned.set(id, waiting)
    })
  }

  /** Reads `length` bytes at `position`; short reads (a truncated file) yield zeros. */
  async read(id: number, position: number, length: number): Promise<Buffer> {
    const out = Buffer.alloc(length)
    await this.readInto(id, position, out)
    return out
  }

  /** Reads `into.length` bytes at `position` into `into`; short reads yield zeros. */
  async readInto(id: number, position: number, into: Uint8Array): Promise<void> {
    await this.#use(id, async (handle) => {
      let done = 0
      while (done < into.length) {
        const { bytesRead } = await handle.read(into, done, into.length - done, position + done)
        if (bytesRead === 0) {
          into.fill(0, done)
          break
        }
        done += bytesRead
      }
    })
  }

  /** Writes `bytes` at `position` (not yet durable: see {@link sync}). */
  async write(id: number, position: number, bytes: Uint8Array): Promise<void> {
    await this.#use(id, (handle) => writeAll(handle, bytes, position))
  }

  /** Writes `pieces` back to back from `position`, with one system call when it can. */
  async writev(id: number, position: number, pieces: readonly Uint8Array[]): Promise<void> {
    await this.#use(id, async (handle) => {
      let at = position
      // At most 1024 buffers per call (IOV_MAX).
      for (let i = 0; i < pieces.length; i += 1024) {
        const batch = pieces.slice(i, i + 1024)
        const want = batch.reduce((n, p) => n + p.byteLength, 0)
        const { bytesWritten } = await handle.writev(batch, at)
        if (bytesWritten < want) {
          // A short write: finish piece by piece.
          let offset = 0
          for (const piece of batch) {
            const end = offset + piece.byteLength
            if (end > bytesWritten) {
              const skip = Math.max(0, bytesWritten - offset)
              await writeAll(handle, piece.subarray(skip), at + offset + skip)
            }
            offset = end
          }
        }
        at += want
      }
    })
  }

  /** Makes everything written to a segment durable (fdatasync semantics are not enough
   * for a file that just grew, so this is a full fsync). */
  async sync(id: number): Promise<void> {
    await this.#use(id, (handle) => handle.sync())
    if (this.#directoryDirty) {
      this.#directoryDirty = false
      this.syncDirectory()
    }
  }

  /**
   * Erases a segment: waits for its readers, discards its content and writes a fresh
   * header; the file keeps its fixed size (sparse zeros past the header).
   */
  async erase(id: number, header: Uint8Array): Promise<void> {
    await this.drained(id)
    await this.#use(id, async (handle) => {
      await handle.truncate(0)
      await handle.truncate(this.#segmentSize)
    })
    await this.write(id, 0, header)
  }

  /** Discards bytes past `end` (a torn tail) and restores the fixed size. */
  async discardFrom(id: number, end: number): Promise<void> {
    await this.#use(id, async (handle) => {
      await handle.truncate(end)
      await handle.truncate(this.#segmentSize)
      await handle.sync()
    })
  }

  /** Makes the creation of new segment files durable (fsync of the directory). */
  syncDirectory(): void {
    const fd = openSync(this.#dir, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  }

  /** Closes every file handle. */
  async close(): Promise<void> {
    this.#closed = true
    const handles = [...this.#handles.values()]
    this.#handles.clear()
    await Promise.all(handles.map(async (h) => (await h).close().catch(() => undefined)))
  }

  async #use<T>(id: number, fn: (handle: FileHandle) => Promise<T>): Promise<T> {
    // The pin keeps the handle from being evicted (closed) while it is in use.
    this.pin(id)
    try {
      return await fn(await this.#handle(id))
    } finally {
      this.unpin(id)
    }
  }

  #handle(id: number): Promise<FileHandle> {
    if (this.#closed) throw new Error('segment files are closed')
    const handle = this.#handles.get(id)
    if (handle) {
      // Map order is insertion order: re-inserting marks it most recently used.
      this.#handles.delete(id)
      this.#handles.set(id, handle)
      return handle
    }
    const path = this.path(id)
    if (!existsSync(path)) this.#directoryDirty = true
    const opening = open(path, constants.O_RDWR | constants.O_CREAT, 0o644)
    opening.catch(() => {
      if (this.#handles.get(id) === opening) this.#handles.delete(id)
    })
    this.#handles.set(id, opening)
    this.#evict()
    return opening
  }

  #evict(): void {
    for (const [id, handle] of this.#handles) {
      if (this.#handles.size <= MAX_OPEN_FILES) return
      // A pinned segment may have a read in flight on this handle.
      if (this.#pins.has(id)) continue
      this.#handles.delete(id)
      void handle.then((h) => h.close()).catch(() => undefined)
    }
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done)
    done += bytesWritten
  }
}
