import {
  analyzeBlocks,
  type ChunkJob,
  encodeChunks,
  type ReadJob,
  runRead,
  type SlabLayout,
} from './compute.js'

/**
 * A unit of CPU work for the compute pool, run by a worker or inline.
 *
 * @example
 * ```ts
 * const job: ComputeJob = { op: 'analyze', slab, layout, first: 0, count: 256 }
 * ```
 */
export type ComputeJob =
  | {
      readonly op: 'analyze'
      readonly slab: Uint8Array
      readonly layout: SlabLayout
      readonly first: number
      readonly count: number
    }
  | {
      readonly op: 'encode'
      readonly data: Uint8Array
      /** Where the fingerprints of `data`'s blocks start in it. */
      readonly fpsAt: number
      readonly out: Uint8Array
      readonly chunks: readonly ChunkJob[]
    }
  | { readonly op: 'read'; readonly read: ReadJob }

/**
 * What each job returns.
 *
 * @example
 * ```ts
 * const { meta, hashes }: JobResult<'encode'> = await pool.run(job)
 * ```
 */
export type JobResult<Op extends ComputeJob['op']> = Op extends 'analyze'
  ? null
  : Op extends 'encode'
    ? { meta: Float64Array; hashes: Uint8Array }
    : ArrayBuffer | Uint8Array | { chunk: number; reason: string }

/**
 * Runs a job and names the buffers to transfer back (never shared memory).
 *
 * @example
 * ```ts
 * const { result, transfer } = runJob(job)
 * ```
 */
export function runJob(job: ComputeJob): { result: unknown; transfer: ArrayBuffer[] } {
  switch (job.op) {
    case 'analyze':
      analyzeBlocks(job.slab, job.layout, job.first, job.count)
      return { result: null, transfer: [] }
    case 'encode': {
      const result = encodeChunks(job.data, job.fpsAt, job.out, job.chunks)
      return {
        result,
        transfer: [result.meta.buffer as ArrayBuffer, result.hashes.buffer as ArrayBuffer],
      }
    }
    case 'read': {
      const result = runRead(job.read)
      return { result, transfer: result instanceof ArrayBuffer ? [result] : [] }
    }
  }
}
