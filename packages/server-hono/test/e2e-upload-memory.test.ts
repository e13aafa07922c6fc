import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { PStorageClient } from '@pstorage/client'
import { pseudoRandomBytes } from '@pstorage/core/testing'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  adminClient,
  BIN_NODE_ENV,
  BIN_NODE_FLAGS,
  type ServerProcess,
  startServerProcess,
} from './server-process.js'

/**
 * The file browser streams uploads end to end (issue 6): a 2 GiB multipart upload reaches the
 * backend byte-exact while the server's peak resident memory stays under 200 MB.
 */
const GiB = 1024 ** 3
const SIZE = 2 * GiB
const CHUNK = 1024 * 1024
let server: ServerProcess
let client: PStorageClient

beforeAll(async () => {
  server = await startServerProcess()
  client = await adminClient(server.url)
})
afterAll(() => server?.stop())

/** Peak resident set of a process, from the kernel (`VmHWM`), in bytes. */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1]
  if (!kib) throw new Error('no VmHWM in /proc/<pid>/status')
  return Number(kib) * 1024
}

/** Resets `VmHWM` to the current RSS (`clear_refs` 5, Linux >= 4.0; the process owner may). */
async function resetPeakRss(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5')
}

it('runs the server with the flags and environment of its #! line', () => {
  expect(BIN_NODE_FLAGS).toEqual([
    '--max-semi-space-size=2',
    '--max-old-space-size=512',
    '--expose-gc',
  ])
  expect(BIN_NODE_ENV).toEqual({ MALLOC_MMAP_THRESHOLD_: '131072' })
})

it('uploads 2 GiB through multipart with the server under 200 MB of RSS', async () => {
  const root = join(server.dataDir, 'backends', 'big')
  const backend = await client.createBackend({ name: 'big', type: 'local', config: { path: root } })
  // 64 distinct 1 MiB chunks in a seeded order: cheap to produce, not trivially compressible.
  const pool = Array.from({ length: 64 }, (_, i) => pseudoRandomBytes(CHUNK, 100 + i))
  const sent = createHash('sha256')
  async function* body(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < SIZE / CHUNK; i++) {
      const chunk = pool[(i * 7) % pool.length]!
      sent.update(chunk)
      yield chunk
    }
  }
  // Logging in ran scrypt (128 MiB by design, security.md): measure the upload alone.
  await resetPeakRss(server.child.pid!)
  const [file] = await client.uploadFiles(backend.id, [{ name: 'disk.raw', data: body() }])
  expect(file).toMatchObject({ path: '/disk.raw', size: SIZE })
  expect((await stat(join(root, 'disk.raw'))).size).toBe(SIZE)
  const stored = createHash('sha256')
  for await (const chunk of createReadStream(join(root, 'disk.raw'))) stored.update(chunk)
  expect(stored.digest('hex')).toBe(sent.digest('hex'))
  const peak = await peakRss(server.child.pid!)
  expect(peak, `peak RSS ${Math.round(peak / 2 ** 20)} MiB`).toBeLessThan(200 * 1024 * 1024)
}, 300_000)
