import type { EngineContext } from './context.js'
import { needsGc, pickVictim, relocateSegment, wearLevelStep } from './gc.js'

/**
 * Background GC leaves segments that are less than this dead alone: moving a mostly live
 * segment costs nearly a segment of writes for little space. Foreground GC, when a write
 * needs room, takes any victim with a dead record.
 */
const BACKGROUND_MIN_DEAD_FRACTION = 0.1

/** Victims one background step collects at most before letting host writes in again. */
const VICTIMS_PER_STEP = 4

/**
 * Where maintenance steps run: the engine's lane.
 *
 * @example
 * ```ts
 * const runner: TaskRunner = lane
 * ```
 */
export interface TaskRunner {
  run<T>(fn: () => Promise<T>): Promise<T>
}

/**
 * Schedules and runs garbage collection and wear leveling. Every step runs on the lane, one
 * segment at a time, so host writes interleave with background work and no step ever
 * races a write batch. A "run" (gc_runs) is a sequence of collections without pause.
 *
 * @example
 * ```ts
 * const maintenance = new Maintenance(ctx, lane)
 * maintenance.kick() // after each mutation
 * ```
 */
export class Maintenance {
  readonly #ctx: EngineContext
  readonly #lane: TaskRunner
  #scheduled = false
  #inRun = false

  constructor(ctx: EngineContext, lane: TaskRunner) {
    this.#ctx = ctx
    this.#lane = lane
  }

  /** Schedules a background step if free space is low or wear is uneven. */
  kick(): void {
    const ctx = this.#ctx
    if (!ctx.options.backgroundMaintenance || ctx.state.closed || this.#scheduled) return
    if (!this.#gcWanted() && !this.#wearLevelingWanted()) {
      this.#inRun = false
      return
    }
    this.#scheduled = true
    void this.#lane.run(() => this.#step()).catch(() => undefined)
  }

  /** Foreground GC for a write that needs room: collects one victim; false if none. */
  async makeRoom(): Promise<boolean> {
    const victim = pickVictim(this.#ctx, 0)
    if (!victim) return false
    return this.#collect(() => relocateSegment(this.#ctx, victim, 'gc', !this.#inRun))
  }

  /**
   * A full pass, for `collectGarbage()`: every segment with a dead record, best score
   * first, then wear leveling until the spread is within the threshold.
   */
  async collectAll(): Promise<void> {
    const limit = this.#ctx.geometry.segmentCount
    this.#inRun = false
    for (let i = 0; i < limit; i++) {
      const victim = pickVictim(this.#ctx, 0)
      if (
        !victim ||
        !(await this.#collect(() => relocateSegment(this.#ctx, victim, 'gc', !this.#inRun)))
      )
        break
    }
    for (let i = 0; i < limit; i++) {
      if (!(await this.#collect(() => wearLevelStep(this.#ctx)))) break
    }
    this.#inRun = false
  }

  async #step(): Promise<void> {
    this.#scheduled = false
    const ctx = this.#ctx
    if (ctx.state.closed) return
    let progressed = false
    // Several victims per step when short of space: one batch of host writes can fill
    // more than one segment, and background GC must keep up with it.
    for (let i = 0; i < VICTIMS_PER_STEP && this.#gcWanted(); i++) {
      const victim = pickVictim(ctx, BACKGROUND_MIN_DEAD_FRACTION)
      if (!victim || !(await this.#collect(() => relocateSegment(ctx, victim, 'gc', !this.#inRun))))
        break
      progressed = true
    }
    // Wear leveling in the same step, so a busy GC never starves it.
    if (this.#wearLevelingWanted() && (await this.#collect(() => wearLevelStep(ctx))))
      progressed = true
    if (progressed) this.kick()
    else this.#inRun = false
  }

  async #collect(step: () => Promise<boolean>): Promise<boolean> {
    this.#ctx.state.gcRunning = true
    try {
      const done = await step()
      if (done) this.#inRun = true
      return done
    } finally {
      this.#ctx.state.gcRunning = false
    }
  }

  #gcWanted(): boolean {
    return needsGc(this.#ctx) && pickVictim(this.#ctx, BACKGROUND_MIN_DEAD_FRACTION) !== undefined
  }

  #wearLevelingWanted(): boolean {
    const wear = this.#ctx.segments.wear()
    if (wear.max - wear.min <= this.#ctx.options.wearLevelingThreshold) return false
    return this.#ctx.segments.leastWornSealed()?.erase_count === wear.min
  }
}
