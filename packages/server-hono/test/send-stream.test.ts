import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import type { Context } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { sendStream } from '../src/send-stream.js'

/** The little of a Hono context sendStream reads on Node: the response and set headers. */
function contextOf(outgoing: ServerResponse): Context {
  return { env: { outgoing }, res: { headers: new Headers() } } as unknown as Context
}

let close: (() => Promise<void>) | undefined
afterEach(async () => {
  await close?.()
  close = undefined
})

/** A server answering every request with `handle`; its URL. */
async function serve(handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
}

const MiB = 1024 * 1024
/** `count` chunks of 1 MiB, each its own buffer, filled with its index. */
function owned(count: number) {
  const made: Uint8Array[] = []
  let returned = false
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      for (let i = 0; i < count; i++) {
        const chunk = new Uint8Array(MiB).fill(i)
        made.push(chunk)
        yield chunk
      }
    } finally {
      returned = true
    }
  }
  return { made, chunks: chunks(), returned: () => returned }
}

/**
 * The two shapes of source sendStream takes: an async iterable (the engine, NFS) and a Node
 * `Readable` (a backend's HTTP answer: S3), made here from the same generator.
 */
const shapes = {
  'an async iterable': (chunks: AsyncGenerator<Uint8Array>) => chunks,
  'a Node Readable': (chunks: AsyncGenerator<Uint8Array>) =>
    Readable.from(chunks, { objectMode: false }),
}

describe.each(Object.entries(shapes))('sendStream with owned chunks from %s', (_, shape) => {
  it('delivers every byte, then frees each chunk the socket has written', async () => {
    const source = owned(24)
    let sent: Promise<Response> | undefined
    const url = await serve((_, res) => {
      sent = sendStream(contextOf(res), 200, shape(source.chunks), { ownedChunks: true })
    })
    const body = new Uint8Array(await (await fetch(url)).arrayBuffer())
    await sent
    expect(body.length).toBe(24 * MiB)
    for (let i = 0; i < 24; i++) expect(body[i * MiB]).toBe(i)
    expect(body[24 * MiB - 1]).toBe(23)
    // Freed once written: detached, so every view of them is empty.
    expect(source.made).toHaveLength(24)
    expect(source.made.every((c) => c.length === 0)).toBe(true)
  })

  it('keeps chunks that are not owned as they are', async () => {
    const source = owned(3)
    const url = await serve((_, res) => {
      void sendStream(contextOf(res), 200, shape(source.chunks))
    })
    expect((await (await fetch(url)).arrayBuffer()).byteLength).toBe(3 * MiB)
    expect(source.made.every((c) => c.length === MiB)).toBe(true)
  })

  it('cuts the body short when the source fails mid-way: never a short body as whole', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(MiB)
      throw new Error('a corrupt block')
    }
    const url = await serve((_, res) => {
      res.setHeader('content-length', String(4 * MiB))
      void sendStream(contextOf(res), 200, shape(failing()), { ownedChunks: true })
    })
    const answer = await fetch(url)
    expect(answer.status).toBe(200)
    await expect(answer.arrayBuffer()).rejects.toThrow()
  })

  it('stops reading the source when the client goes away', async () => {
    const source = owned(10_000) // 10 GB: only a client that stays could take it all
    let sent: Promise<Response> | undefined
    const url = await serve((_, res) => {
      sent = sendStream(contextOf(res), 200, shape(source.chunks), { ownedChunks: true })
    })
    const controller = new AbortController()
    const answer = await fetch(url, { signal: controller.signal })
    const reader = answer.body!.getReader()
    await reader.read()
    controller.abort()
    await sent
    expect(source.returned()).toBe(true)
    expect(source.made.length).toBeLessThan(200)
  })
})
