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
    return this.#use(id, async (handle) => {
      const out = Buffer.alloc(length)
      let done = 0
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, position + done)
        if (bytesRead === 0) break
        done += bytesRead
      }
      return out
    })
  }

  /** Writes `bytes` at `position` (not yet durable: see {@link sync}). */
  async write(id: number, position: number, bytes: Uint8Array): Promise<void> {
    await this.#use(id, async (handle) => {
      let done = 0
      while (done < bytes.length) {
        const { bytesWritten } = await handle.write(
          bytes,
          done,
          bytes.length - done,
          position + done,
        )
        done += bytesWritten
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
