import type { EngineWriteResult } from '@pstorage/core'
import type { Counters } from './counters.js'
import type { LaneWrite } from './lane.js'
import { encodeRecordInto } from './segment-format.js'
import type { RecordSpec } from './segment-writer.js'

/**
 * A host write waiting in the lane.
 *
 * @example
 * ```ts
 * lane.write({ volumeId: 'v1', offset: 0, data, resolve, reject })
 * ```
 */
export interface WriteRequest extends LaneWrite {
  readonly volumeId: string
  readonly offset: number
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
 * The state of one block after the batch: a reference or a pattern, and its bytes.
 *
 * @example
 * ```ts
 * const slot: Slot = { mapId: 1, idx: 0, len: 12, pblock: 7, pattern: null, content }
 * ```
 */
export interface Slot {
  readonly mapId: number
  readonly idx: number
  readonly len: number
  readonly pblock: number | null
  readonly pattern: Uint8Array | null
  readonly content: Uint8Array
}

/**
 * A block the batch stores: a new fingerprint, encoded.
 *
 * @example
 * ```ts
 * for (const block of planner.newBlocks) console.log(block.id, block.recordLength)
 * ```
 */
export interface NewBlock {
  readonly id: number
  readonly fingerprint: Buffer
  readonly logicalLength: number
  readonly codec: number
  readonly payload: Uint8Array
  readonly recordLength: number
}

/**
 * What one write will do, before it is admitted.
 *
 * @example
 * ```ts
 * const plan: ItemPlan = await planner.plan(request)
 * ```
 */
export interface ItemPlan {
  readonly request: WriteRequest
  readonly mapId: number
  readonly slots: Slot[]
  readonly newBlocks: NewBlock[]
  readonly refDelta: Map<number, number>
  readonly counters: Counters
  usedDelta: number
  result: EngineWriteResult
}

/**
 * What a write did, for its result.
 *
 * @example
 * ```ts
 * const tally: Tally = { produced: 0, stored: 0, deduplicated: false, compressed: false }
 * ```
 */
export interface Tally {
  /** Logical bytes of the blocks the write produced (partial blocks merged). */
  produced: number
  /** Payload bytes it stored. */
  stored: number
  deduplicated: boolean
  compressed: boolean
}

/**
 * The record of a new block, encoded straight into the segment buffer.
 *
 * @example
 * ```ts
 * await appendRecords(ctx, 'user', planner.newBlocks.map(recordSpec))
 * ```
 */
export function recordSpec(block: NewBlock): RecordSpec {
  return {
    size: block.recordLength,
    encode: (out: Buffer, at: number) => {
      encodeRecordInto(out, at, {
        pblockId: block.id,
        codec: block.codec,
        logicalLength: block.logicalLength,
        fingerprint: block.fingerprint,
        payload: block.payload,
      })
    },
  }
}
