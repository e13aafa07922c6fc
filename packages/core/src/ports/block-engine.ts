import type { FlashMetrics, ReductionMetrics } from '../schemas/metrics.js'

/** The block size of every engine: writes start at multiples of it (seeds/001, "Write Data"). */
export const BLOCK_SIZE = 4096

/**
 * What one write did to the data, for the write response of seeds/001.
 *
 * Truthful by contract: `was_deduplicated` is true only if at least one block of the write
 * was already stored and gained a reference; `was_compressed` only if at least one block was
 * stored compressed because compression paid.
 */
export interface EngineWriteResult {
  /** Logical bytes accepted (the length of the data written). */
  readonly size: number
  /** Logical bytes of this write divided by the physical bytes it added (>= 1; 1 for none). */
  readonly reduction_ratio: number
  readonly was_deduplicated: boolean
  readonly was_compressed: boolean
}

/** Space figures of one volume. */
export interface EngineVolumeStats {
  /** Logical bytes that hold data (written blocks, counted by their used length). */
  readonly used_bytes: number
  /** Logical bytes of the volume divided by the physical bytes they need (>= 1). */
  readonly reduction_ratio: number
}

/** Engine-wide counters, in the shapes of `/metrics/reduction` and `/metrics/flash`. */
export interface EngineStats {
  readonly reduction: ReductionMetrics
  readonly flash: FlashMetrics
}

/** Per-volume data-reduction policy; an engine may support more than the default. */
export type ReductionPolicy = 'lz4' | 'dense'

/** Options of {@link BlockEngine.createVolume}. */
export interface CreateVolumeOptions {
  /** @default 'lz4' */
  readonly policy?: ReductionPolicy
}

/** A problem found by {@link BlockEngine.fsck} or {@link BlockEngine.scrub}. */
export interface IntegrityIssue {
  readonly kind: string
  readonly detail: string
}

/**
 * The data path of the virtual array: volumes of fixed-size blocks, snapshots and clones.
 *
 * Contract (asserted by `runBlockEngineSuite` from `@pstorage/core/testing`):
 * - Addressing: `write(volume, offset, data)` requires `offset % BLOCK_SIZE === 0` and
 *   `offset + data.length <= size`; it is byte-precise: bytes outside `[offset, offset+len)`
 *   keep their values (a final partial block is merged with what the block held).
 * - Read-after-write: once `write` resolves, every later `read` returns the written bytes.
 *   A durable engine resolves only when data and metadata survive a crash.
 * - Unwritten space reads as zeros. `read(volume, offset, length)` returns exactly `length`
 *   bytes. Without `length` it returns the bytes from `offset` to the volume's written end
 *   (the end of the last written byte; a partial final block keeps its used length, so
 *   writing "Hello World!" at 0 then reading 0 returns those 12 bytes), or none when
 *   `offset` is at or past it.
 * - Thin provisioning: `createVolume` reserves nothing; `resizeVolume` only grows.
 * - Snapshots are immutable point-in-time copies; later writes to the volume never change
 *   them. Clones and restores are independent volumes from the moment they exist.
 * - Errors are `PStorageError`s: unknown volume or snapshot → `not_found`; an id that
 *   exists → `conflict`; bad offset or length → `bad_request`; no physical space →
 *   `insufficient_capacity` (nothing of the write is applied); a stored block whose
 *   checksum does not match → `data_corruption` (never the bad bytes).
 * - The engine does not validate names or sizes against product rules; services do.
 *
 * @example
 * ```ts
 * await engine.createVolume('v1', 1 << 20)
 * await engine.write('v1', 0, new TextEncoder().encode('Hello World!'))
 * const bytes = await engine.read('v1', 0) // 12 bytes
 * ```
 */
export interface BlockEngine {
  /** Creates an empty, thin volume of `sizeBytes` logical bytes. */
  createVolume(volumeId: string, sizeBytes: number, options?: CreateVolumeOptions): Promise<void>
  /** Deletes a volume; blocks shared with snapshots or clones stay for them. */
  deleteVolume(volumeId: string): Promise<void>
  /** Grows a volume to `sizeBytes`; shrinking is a `bad_request`. */
  resizeVolume(volumeId: string, sizeBytes: number): Promise<void>
  /** Writes `data` at a block-aligned `offset`. */
  write(volumeId: string, offset: number, data: Uint8Array): Promise<EngineWriteResult>
  /**
   * Writes `length` bytes at `offset` that `fill` puts into a buffer the engine lends (its
   * own memory), sparing the copy `write` makes; `target` is valid only until `fill`'s
   * promise settles. The range is checked before `fill` runs; if `fill` throws, nothing is
   * written and the write fails with its error. Optional: services fall back to `write`.
   */
  writeFrom?(
    volumeId: string,
    offset: number,
    length: number,
    fill: (target: Uint8Array) => void | Promise<void>,
  ): Promise<EngineWriteResult>
  /** Reads `length` bytes at `offset` (see the contract for a missing `length`). */
  read(volumeId: string, offset: number, length?: number): Promise<Uint8Array>
  /**
   * Fills `target` with bytes `[offset, offset + target.length)`, as `read` would return
   * them, for callers that reuse their buffers. Optional: services fall back to `read`.
   */
  readInto?(volumeId: string, offset: number, target: Uint8Array): Promise<void>
  /** The logical end of written data: the `read` without `length` reads up to here. */
  writtenEnd(volumeId: string): Promise<number>
  /** Freezes the volume's current content as `snapshotId`. */
  createSnapshot(volumeId: string, snapshotId: string): Promise<void>
  /** Deletes a snapshot; blocks still referenced elsewhere stay. */
  deleteSnapshot(snapshotId: string): Promise<void>
  /** Creates `newVolumeId` sharing the current content of `sourceVolumeId` copy-on-write. */
  cloneVolume(sourceVolumeId: string, newVolumeId: string): Promise<void>
  /** Creates `newVolumeId` from a snapshot (restore to a new volume). */
  createVolumeFromSnapshot(snapshotId: string, newVolumeId: string): Promise<void>
  /** Replaces the content of an existing volume with a snapshot's (restore in place). */
  restoreSnapshot(snapshotId: string, targetVolumeId: string): Promise<void>
  /** Space figures of one volume. */
  volumeStats(volumeId: string): Promise<EngineVolumeStats>
  /** Engine-wide reduction and flash counters. */
  stats(): Promise<EngineStats>
  /** Checks internal consistency; an empty list means consistent. */
  fsck?(): Promise<IntegrityIssue[]>
  /** Reads and verifies every stored block; an empty list means nothing is corrupt. */
  scrub?(): Promise<IntegrityIssue[]>
  /** Runs garbage collection now. */
  collectGarbage?(): Promise<void>
  /** Flushes and releases resources; the engine refuses use afterwards. */
  close(): Promise<void>
}
