import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { COLLECT_EVERY_BYTES, pace, paced } from '../src/gc-assist.js'

type Options = { type: string }
const host = globalThis as { gc?: (options: Options) => void }
const original = host.gc
afterEach(() => {
  if (original) host.gc = original
  else delete host.gc
})

async function* chunksOf(size: number, count: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < count; i++) yield new Uint8Array(size).fill(i)
}

async function drain(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const chunk of chunks) out.push(chunk)
  return out
}

describe('paced', () => {
  it('hands the stream back untouched when gc is not exposed', () => {
    delete host.gc
    const chunks = chunksOf(10, 1)
    expect(paced(chunks)).toBe(chunks)
  })

  it('asks for a young collection every COLLECT_EVERY_BYTES, passing every chunk on', async () => {
    const asked: Options[] = []
    host.gc = (options) => asked.push(options)
    // Line the shared counter up first: whatever earlier streams left, one full pace resets it.
    await drain(paced(chunksOf(COLLECT_EVERY_BYTES, 1)))
    asked.length = 0
    const size = COLLECT_EVERY_BYTES / 4
    const out = await drain(paced(chunksOf(size, 10)))
    expect(out.map((c) => [c.length, c[0]])).toEqual(
      Array.from({ length: 10 }, (_, i) => [size, i]),
    )
    // 10 quarter-paces: a collection after the 4th and the 8th chunk, never a major one.
    expect(asked).toEqual([{ type: 'minor' }, { type: 'minor' }])
  })

  it('counts bytes across streams, as they share one heap', async () => {
    const asked: Options[] = []
    host.gc = (options) => asked.push(options)
    await drain(paced(chunksOf(COLLECT_EVERY_BYTES, 1)))
    asked.length = 0
    const half = COLLECT_EVERY_BYTES / 2
    await Promise.all([drain(paced(chunksOf(half, 1))), drain(paced(chunksOf(half, 1)))])
    expect(asked).toHaveLength(1)
  })
})

describe('pace', () => {
  it('counts the chunks of a piped stream, which still delivers every byte', async () => {
    const asked: Options[] = []
    host.gc = (options) => asked.push(options)
    await drain(paced(chunksOf(COLLECT_EVERY_BYTES, 1)))
    asked.length = 0
    const source = Readable.from(chunksOf(COLLECT_EVERY_BYTES / 2, 5), { objectMode: false })
    pace(source)
    let received = 0
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        received += chunk.length
        done()
      },
    })
    await pipeline(source, sink)
    expect(received).toBe(2.5 * COLLECT_EVERY_BYTES)
    expect(asked).toEqual([{ type: 'minor' }, { type: 'minor' }])
  })

  it('adds no listener when gc is not exposed', () => {
    delete host.gc
    const source = Readable.from(chunksOf(1, 1))
    pace(source)
    expect(source.listenerCount('data')).toBe(0)
  })
})
