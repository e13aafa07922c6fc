import { describe, expect, it } from 'vitest'
import { STABLE_HOW } from '../src/nfs3/constants.js'
import type { NfsSession } from '../src/userspace/session.js'
import { writeAll } from '../src/userspace/transfer.js'

/** A session whose WRITEs land in `file` after a tick, as a server answering later would. */
function fakeSession(ioSize: number) {
  const file: number[] = []
  const blocks = new Set<ArrayBufferLike>()
  const verf = Buffer.alloc(8, 1)
  let inFlight = 0
  let maxInFlight = 0
  const nfs = {
    async write(_fh: Uint8Array, offset: number, data: Uint8Array) {
      blocks.add(data.buffer)
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      await new Promise((resolve) => setTimeout(resolve, 1))
      file.splice(offset, data.length, ...data) // read when "received", after the wait
      inFlight--
      return { count: data.length, committed: STABLE_HOW.UNSTABLE, verf }
    },
    async commit() {
      return verf
    },
  }
  const session = { nfs, ioSize } as unknown as NfsSession
  return { session, file, blocks, maxInFlight: () => maxInFlight }
}

async function* chunks(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size)
}

describe('writeAll', () => {
  it('reuses its blocks once their WRITE is answered, without corrupting one in flight', async () => {
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff))
    const fake = fakeSession(16)
    const written = await writeAll(fake.session, Buffer.alloc(4), chunks(data, 5), 3, 'a.bin')
    expect(written).toBe(data.length)
    expect(Buffer.from(fake.file).equals(data)).toBe(true)
    expect(fake.maxInFlight()).toBe(3)
    // 63 WRITEs of 16 bytes, from at most depth + 1 blocks.
    expect(fake.blocks.size).toBeLessThanOrEqual(4)
  })
})
