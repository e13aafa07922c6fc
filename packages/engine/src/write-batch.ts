import { PStorageError } from '@pstorage/core'
import { commit, type EngineContext } from './context.js'
import { appendRecords } from './segment-writer.js'
import { WritePlanner } from './write-plan.js'
import { type ItemPlan, type MakeRoom, recordSpec, type WriteRequest } from './write-request.js'

export type { MakeRoom, WriteRequest } from './write-request.js'

/**
 * One group commit of host writes (ARCHITECTURE.md, the data path): plans every write in
 * order against the state the earlier ones leave (so writes to the same block land in
 * call order), admits each only if the medium has room for it (running foreground GC if
 * needed), then appends all new records with one fsync per segment and commits block maps,
 * fingerprints, reference counts and counters in one transaction. Only then are the
 * writes acknowledged. A refused write changes nothing; a failed append or commit fails
 * every write of the batch and changes nothing (the appended bytes are a torn tail).
 *
 * @example
 * ```ts
 * const lane = new Lane<WriteRequest>((batch) => commitWriteBatch(ctx, batch, makeRoom))
 * ```
 */
export async function commitWriteBatch(
  ctx: EngineContext,
  requests: readonly WriteRequest[],
  makeRoom: MakeRoom,
): Promise<void> {
  const settled = new Set<WriteRequest>()
  const settle = (request: WriteRequest, outcome: () => void) => {
    settled.add(request)
    outcome()
  }
  try {
    const planner = new WritePlanner(ctx)
    const accepted: ItemPlan[] = []
    for (const request of requests) {
      try {
        const plan = await planner.plan(request)
        if (!(await planner.admit(plan, makeRoom))) {
          const bytes = plan.newBlocks.reduce((n, b) => n + b.recordLength, 0)
          throw new PStorageError(
            'insufficient_capacity',
            `The write needs ${bytes} bytes the medium does not have`,
          )
        }
        accepted.push(plan)
      } catch (error) {
        settle(request, () => request.reject(error))
      }
    }
    if (accepted.length === 0) return
    const append = await appendRecords(ctx, 'user', planner.newBlocks.map(recordSpec))
    commit(ctx, () => planner.apply(append))
    for (const plan of accepted) settle(plan.request, () => plan.request.resolve(plan.result))
  } catch (cause) {
    const error =
      cause instanceof PStorageError
        ? cause
        : new PStorageError(
            'service_unavailable',
            '[pstorage] [engine] the write could not be made durable',
            { cause },
          )
    // Every write of the batch not refused on its own fails with the batch.
    for (const request of requests) if (!settled.has(request)) request.reject(error)
  }
}
