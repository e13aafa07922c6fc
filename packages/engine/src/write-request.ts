import type { EngineWriteResult } from '@pstorage/core'
import type { SlabLayout } from './compute.js'
import type { Counters } from './counters.js'
import type { LaneWrite } from './lane.js'
import type { Extent } from './map-index.js'

/**
 * A host write waiting in the lane. Its data was copied into `slab` (shared memory) when
 * it was called, and its analysis (pattern detection, fingerprints) started right away on
 * the compute workers; `analyzed` settles when the slab holds the results.
 *
 * @example
 * ```ts
 * lane.write({ volumeId: 'v1', offset: 0, data, slab, layout, analyzed, resolve, reject })
 * ```
 */
export interface WriteRequest extends LaneWrite {
  readonly volumeId: string
  readonly offset: number
  readonly slab: Uint8Array
  readonly layout: SlabLayout
  readonly analyzed: Promise<void>
  readonly resolve: (result: EngineWriteResult) => void
  readonly reject: (error: unknown) => void
}

/**
 * Frees at least one segment (foreground GC); false when nothing more can be reclaimed.
 *
 * @example
 * ```ts
 * const makeRoom: MakeRoom = () => maintenance.makeRoom()
 * ```
 */
export type MakeRoom = () => Promise<boolean>

/**
 * A chunk a write stores: new block ids `[id, id + members.length)`, then, once encoded,
 * its record.
 *
 * @example
 * ```ts
 * for (const chunk of plan.chunks) console.log(chunk.id, chunk.record?.length)
 * ```
 */
export interface NewChunk {
  readonly id: number
  /** Block indexes of the members in the write's data. */
  readonly members: number[]
  /**
   * The write's fingerprints (a view of its slab): member `i`'s starts at word
   * `members[i] * 8`.
   */
  readonly fps: Int32Array
  lastLength: number
  /** The policy's codec, tried on the chunk. */
  readonly codec: number
  /** Set by encoding. */
  record?: Uint8Array
  storedCodec?: number
  rawLength?: number
  sha?: Buffer
}

/**
 * What one write will do.
 *
 * @example
 * ```ts
 * const plan: ItemPlan = await planner.plan(request)
 * ```
 */
export interface ItemPlan {
  readonly request: WriteRequest
  readonly mapId: number
  /** Blocks `[from, to)` of the map the write replaces. */
  readonly from: number
  readonly to: number
  /** The new content of those blocks. */
  readonly runs: Extent[]
  readonly chunks: NewChunk[]
  /** Used length of the last block (after merging a partial block). */
  readonly lastLength: number
  readonly counters: Counters
  /** Logical bytes of the blocks the write produced. */
  readonly produced: number
  deduplicated: boolean
}
