import { notFound, PStorageError } from '../errors.js'
import {
  BLOCK_SIZE,
  type BlockEngine,
  type EngineStats,
  type EngineVolumeStats,
  type EngineWriteResult,
} from '../ports/block-engine.js'
import { checkRead, checkWrite } from './addressing.js'

/** Options of {@link createMemoryBlockEngine}. */
export interface MemoryBlockEngineOptions {
  /**
   * Capacity of the pretend medium; writes that would need more fail with
   * `insufficient_capacity`.
   * @default 1 GiB
   */
  readonly capacityBytes?: number
}

/** A block map: block index → the block's bytes (used length <= BLOCK_SIZE). Never mutated once shared. */
type BlockMap = Map<number, Uint8Array>

interface VolumeState {
  size: number
  blocks: BlockMap
}

/**
 * The reference engine: volumes in memory, no data reduction, nothing durable. It defines
 * the behaviour `runBlockEngineSuite` asserts and serves tests and examples; the real
 * engine is `@pstorage/engine`. Snapshots and clones share block buffers (a stored block
 * is never modified in place, so sharing is copy-on-write by construction).
 *
 * @example
 * ```ts
 * const engine = createMemoryBlockEngine({ capacityBytes: 64 << 20 })
 * await engine.createVolume('v1', 1 << 20)
 * ```
 */
export function createMemoryBlockEngine(options: MemoryBlockEngineOptions = {}): BlockEngine {
  const capacity = options.capacityBytes ?? 1024 ** 3
  const volumes = new Map<string, VolumeState>()
  const snapshots = new Map<string, VolumeState>()
  let closed = false

  const open = () => {
    if (closed) throw new PStorageError('service_unavailable', 'The block engine is closed')
  }
  const volume = (id: string) => {
    open()
    const found = volumes.get(id)
    if (!found) throw notFound('Volume', id)
    return found
  }
  const snapshot = (id: string) => {
    open()
    const found = snapshots.get(id)
    if (!found) throw notFound('Snapshot', id)
    return found
  }
  const fresh = (id: string) => {
    open()
    if (volumes.has(id)) throw new PStorageError('conflict', `Volume ${id} already exists`)
  }
  // Every distinct buffer counts once, however many volumes and snapshots share it.
  const physicalBytes = () => {
    const seen = new Set<Uint8Array>()
    for (const state of [...volumes.values(), ...snapshots.values()]) {
      for (const block of state.blocks.values()) seen.add(block)
    }
    let total = 0
    for (const block of seen) total += block.length
    return total
  }
  const usedBytes = (blocks: BlockMap) => {
    let total = 0
    for (const block of blocks.values()) total += block.length
    return total
  }

  const engine: BlockEngine = {
    async createVolume(volumeId, sizeBytes) {
      fresh(volumeId)
      volumes.set(volumeId, { size: sizeBytes, blocks: new Map() })
    },
    async deleteVolume(volumeId) {
      volume(volumeId)
      volumes.delete(volumeId)
    },
    async resizeVolume(volumeId, sizeBytes) {
      const state = volume(volumeId)
      if (sizeBytes <= state.size) {
        throw new PStorageError(
          'bad_request',
          `Volumes only grow: ${sizeBytes} <= ${state.size} bytes`,
        )
      }
      state.size = sizeBytes
    },
    async write(volumeId, offset, data): Promise<EngineWriteResult> {
      const state = volume(volumeId)
      checkWrite(offset, data.length, state.size)
      const updates: [number, Uint8Array][] = []
      let added = 0
      for (let at = 0; at < data.length; at += BLOCK_SIZE) {
        const index = (offset + at) / BLOCK_SIZE
        const chunk = data.subarray(at, Math.min(at + BLOCK_SIZE, data.length))
        const old = state.blocks.get(index)
        const block = new Uint8Array(Math.max(chunk.length, old?.length ?? 0))
        if (old) block.set(old)
        block.set(chunk)
        updates.push([index, block])
        added += block.length
      }
      if (physicalBytes() + added > capacity) {
        throw new PStorageError(
          'insufficient_capacity',
          `The write needs ${added} bytes the medium does not have`,
        )
      }
      for (const [index, block] of updates) state.blocks.set(index, block)
      return {
        size: data.length,
        reduction_ratio: 1,
        was_deduplicated: false,
        was_compressed: false,
      }
    },
    async writeFrom(volumeId, offset, length, fill) {
      checkWrite(offset, length, volume(volumeId).size)
      const lent = new Uint8Array(length)
      await fill(lent)
      return engine.write(volumeId, offset, lent)
    },
    async read(volumeId, offset, length) {
      const state = volume(volumeId)
      const end =
        length === undefined ? Math.max(offset, writtenEndOf(state.blocks)) : offset + length
      checkRead(offset, end - offset, state.size)
      const out = new Uint8Array(end - offset)
      copyOut(state.blocks, offset, out)
      return out
    },
    async readInto(volumeId, offset, target) {
      const state = volume(volumeId)
      checkRead(offset, target.length, state.size)
      target.fill(0)
      copyOut(state.blocks, offset, target)
    },
    async writtenEnd(volumeId) {
      return writtenEndOf(volume(volumeId).blocks)
    },
    async createSnapshot(volumeId, snapshotId) {
      const state = volume(volumeId)
      if (snapshots.has(snapshotId))
        throw new PStorageError('conflict', `Snapshot ${snapshotId} already exists`)
      snapshots.set(snapshotId, { size: state.size, blocks: new Map(state.blocks) })
    },
    async deleteSnapshot(snapshotId) {
      snapshot(snapshotId)
      snapshots.delete(snapshotId)
    },
    async cloneVolume(sourceVolumeId, newVolumeId) {
      const source = volume(sourceVolumeId)
      fresh(newVolumeId)
      volumes.set(newVolumeId, { size: source.size, blocks: new Map(source.blocks) })
    },
    async createVolumeFromSnapshot(snapshotId, newVolumeId) {
      const source = snapshot(snapshotId)
      fresh(newVolumeId)
      volumes.set(newVolumeId, { size: source.size, blocks: new Map(source.blocks) })
    },
    async restoreSnapshot(snapshotId, targetVolumeId) {
      const source = snapshot(snapshotId)
      const target = volume(targetVolumeId)
      target.blocks = new Map(source.blocks)
      target.size = Math.max(target.size, source.size)
    },
    async volumeStats(volumeId): Promise<EngineVolumeStats> {
      return { used_bytes: usedBytes(volume(volumeId).blocks), reduction_ratio: 1 }
    },
    async stats(): Promise<EngineStats> {
      open()
      const used = physicalBytes()
      return memoryStats(capacity, used)
    },
    async fsck() {
      open()
      return []
    },
    async scrub() {
      open()
      return []
    },
    async close() {
      closed = true
      volumes.clear()
      snapshots.clear()
    },
  }
  return Object.freeze(engine)
}

function writtenEndOf(blocks: BlockMap): number {
  let end = 0
  for (const [index, block] of blocks) end = Math.max(end, index * BLOCK_SIZE + block.length)
  return end
}

/** The counters of an engine that reduces nothing and wears nothing: honest zeros and ones. */
function memoryStats(capacity: number, used: number): EngineStats {
  return {
    reduction: {
      overall_reduction_ratio: 1,
      deduplication: { ratio: 1, unique_blocks: 0, duplicate_blocks: 0 },
      compression: { ratio: 1, algorithm: 'none' },
      pattern_removal: { zero_blocks_found: 0, pattern_blocks_found: 0 },
      bytes_saved: { pattern: 0, dedupe: 0, compression: 0 },
    },
    flash: {
      capacity: {
        total_bytes: capacity,
        used_bytes: used,
        free_bytes: capacity - used,
        utilization: capacity === 0 ? 0 : used / capacity,
      },
      health: { health_percentage: 100, avg_erase_count: 0, max_erase_count: 0 },
      wear_leveling: { blocks_moved: 0, wear_variance: 0 },
      garbage_collection: { state: 'idle', blocks_reclaimed: 0, gc_runs: 0 },
    },
  }
}

/** Copies the written bytes of `[offset, offset + out.length)` into `out` (holes stay as they are). */
function copyOut(blocks: Map<number, Uint8Array>, offset: number, out: Uint8Array): void {
  const end = offset + out.length
  for (let index = Math.floor(offset / BLOCK_SIZE); index * BLOCK_SIZE < end; index++) {
    const block = blocks.get(index)
    if (!block) continue
    const start = index * BLOCK_SIZE
    const from = Math.max(offset, start)
    const to = Math.min(end, start + block.length)
    if (to > from) out.set(block.subarray(from - start, to - start), from - offset)
  }
}
