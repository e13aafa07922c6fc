import { describe, expect, it } from 'vitest'
import { detectPattern, fillPattern } from './pattern.js'

const repeat = (unit: number[], length: number) =>
  Uint8Array.from({ length }, (_, i) => unit[i % unit.length]!)

describe('pattern removal', () => {
  it('finds zero blocks of any length, and 1-, 2-, 4-, 8-byte patterns by their shortest unit', () => {
    expect(detectPattern(new Uint8Array(4096))).toEqual({ unit: Uint8Array.of(0), zero: true })
    expect(detectPattern(new Uint8Array(3))).toEqual({ unit: Uint8Array.of(0), zero: true })
    expect(detectPattern(repeat([9], 4096))?.unit).toEqual(Uint8Array.of(9))
    expect(detectPattern(repeat([1, 2], 4096))?.unit).toEqual(Uint8Array.of(1, 2))
    expect(detectPattern(repeat([1, 2, 3, 4], 4096))?.unit).toEqual(Uint8Array.of(1, 2, 3, 4))
    expect(detectPattern(repeat([1, 2, 3, 4, 5, 6, 7, 8], 4096))?.zero).toBe(false)
    // A partial block that repeats its unit counts too.
    expect(detectPattern(repeat([1, 2, 3, 4], 100))?.unit).toEqual(Uint8Array.of(1, 2, 3, 4))
  })

  it('rejects longer periods, a single break, and short non-zero tails', () => {
    expect(
      detectPattern(repeat([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], 4096)),
    ).toBeUndefined()
    const broken = repeat([7], 4096)
    broken[4095] = 8
    expect(detectPattern(broken)).toBeUndefined()
    expect(detectPattern(new TextEncoder().encode('Hello'))).toBeUndefined()
    expect(detectPattern(new TextEncoder().encode('aaaa'))).toBeUndefined()
    expect(detectPattern(new Uint8Array(0))).toBeUndefined()
  })

  it('fills a pattern back byte-exact, also at lengths that cut the unit', () => {
    for (const length of [1, 7, 8, 100, 4095, 4096]) {
      expect(fillPattern(new Uint8Array(length), Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))).toEqual(
        repeat([1, 2, 3, 4, 5, 6, 7, 8], length),
      )
    }
    expect(fillPattern(new Uint8Array(5), Uint8Array.of(0xaa))).toEqual(repeat([0xaa], 5))
  })
})
