import { describe, expect, it } from 'vitest'
import { costBenefit, utilization } from './gc.js'
import type { SegmentRow } from './segment-table.js'

const segment = (written: number, live: number): SegmentRow => ({
  id: 1,
  state: 'sealed',
  role: null,
  erase_count: 0,
  generation: 1,
  write_offset: 64 + written,
  live_bytes: live,
  live_records: 1,
  records: 2,
  live_blocks: 1,
  blocks: 2,
  sealed_at: 0,
})

describe('GC victim scoring', () => {
  it('prefers mostly dead and older segments (LFS cost-benefit)', () => {
    expect(costBenefit(0.2, 10_000)).toBeGreaterThan(costBenefit(0.8, 10_000))
    expect(costBenefit(0.5, 60_000)).toBeGreaterThan(costBenefit(0.5, 1_000))
    // An old segment at 60% live can beat a young one at 40% live: age buys time.
    expect(costBenefit(0.6, 600_000)).toBeGreaterThan(costBenefit(0.4, 1_000))
    expect(costBenefit(1, 60_000)).toBe(0)
  })

  it('measures utilisation against the bytes written since the erase', () => {
    expect(utilization(segment(1000, 250))).toBe(0.25)
    expect(utilization(segment(0, 0))).toBe(0)
  })
})
