import { mkdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { type BackendDriver, readAllBytes } from '@pstorage/core'
import {
  CONFINED_CASES,
  pseudoRandomBytes,
  runBackendDriverSuite,
  type SeedEntry,
  TRAVERSAL_CASES,
} from '@pstorage/core/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createHttpDriver } from '../src/index.js'
import { type NginxServer, startNginx } from '../src/testing.js'

// One nginx for the file; each test gets a fresh directory under its root as the base URL,
// so every conformance test also runs with a base path that is not `/`.
let nginx: NginxServer
beforeAll(async () => {
  nginx = await startNginx()
})
afterAll(async () => {
  await nginx?.stop()
})

const MiB = 1024 * 1024
const roots = new WeakMap<BackendDriver, string>()
let sequence = 0

/** Writes fixtures straight into the served tree: the driver itself is read-only. */
async function seed(driver: BackendDriver, entries: readonly SeedEntry[]): Promise<void> {
  const root = roots.get(driver)!
  for (const entry of entries) {
    const abs = join(root, ...entry.path.split('/').filter(Boolean))
    if (entry.data === undefined) await mkdir(abs, { recursive: true })
    else {
      await mkdir(dirname(abs), { recursive: true })
      await writeFile(abs, entry.data)
    }
  }
}

for (const [name, base] of [
  ['http (nginx html)', () => nginx.url],
  ['http (nginx json)', () => nginx.jsonUrl],
] as const)
  runBackendDriverSuite({
    name,
    capabilities: { write: false, move: false },
    async create() {
      const id = `t${++sequence}`
      await mkdir(join(nginx.dir, id))
      const driver = createHttpDriver({ url: `${base()}${id}/` })
      roots.set(driver, join(nginx.dir, id))
      return driver
    },
    seed,
    async destroy(driver) {
      await rm(roots.get(driver)!, { recursive: true, force: true })
    },
  })

describe('nginx specifics', () => {
  const dirs: string[] = []
  /** A fresh directory under the served root and its base path, e.g. `/x3/`. */
  async function area(files: Record<string, Uint8Array | string> = {}) {
    const id = `x${++sequence}`
    const root = join(nginx.dir, id)
    dirs.push(root)
    for (const [path, data] of Object.entries(files)) {
      const abs = join(root, ...path.split('/').filter(Boolean))
      await mkdir(dirname(abs), { recursive: true })
      await writeFile(abs, data)
    }
    await mkdir(root, { recursive: true })
    return { id, root, prefix: `/${id}/` }
  }
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
  })

  it('reads byte-exact ranges of a multi-MiB file with 206 answers', async () => {
    const data = Buffer.from(pseudoRandomBytes(9 * MiB + 123, 7))
    const { id, prefix } = await area({ 'big.bin': data })
    const driver = createHttpDriver({ url: `${nginx.url}${id}/` })
    const before = (await nginx.requests()).length
    for (const [offset, length] of [
      [0, 1],
      [MiB - 1, 2],
      [3 * MiB + 17, 4 * MiB + 1],
      [data.length - 10, 10],
      [data.length - 1, 1000],
    ] as const) {
      const read = await driver.read('/big.bin', { offset, length })
      const bytes = Buffer.from(await readAllBytes(read.stream))
      const want = data.subarray(offset, offset + length)
      expect(bytes.equals(want), `${offset}+${length}`).toBe(true)
      expect([read.size, read.offset, read.length]).toEqual([data.length, offset, want.length])
    }
    const log = (await nginx.requests()).slice(before)
    expect(log.map((r) => [r.method, r.target, r.status])).toEqual(
      Array.from({ length: 5 }, () => ['GET', `${prefix}big.bin`, 206]),
    )
  })

  it('lists and reads names that need escaping; skips names the API cannot address', async () => {
    const names = [
      'sp ace&<q>"#?%.txt',
      '100% done.txt',
      "it's (1).iso",
      'a+b;c=d',
      '\u00e9t\u00e9',
    ]
    const files = Object.fromEntries(names.map((n) => [n, n]))
    const { id } = await area({ ...files, 'cafe\u0301': 'nfd', 'a:b': 'drive', 'x\\y': 'bs' })
    for (const url of [nginx.url, nginx.jsonUrl]) {
      const driver = createHttpDriver({ url: `${url}${id}/` })
      const listed = (await driver.list('/')).items.map((i) => i.name)
      expect(listed).toEqual([...names].sort())
      for (const name of names) {
        const read = await driver.read(`/${name}`)
        expect(new TextDecoder().decode(await readAllBytes(read.stream))).toBe(name)
      }
    }
  })

  it('sends no request outside the base path for traversal and confined cases', async () => {
    const { id, prefix } = await area({ 'ok.txt': 'ok' })
    await writeFile(join(nginx.dir, 'canary.txt'), 'outside the base')
    const driver = createHttpDriver({ url: `${nginx.url}${id}/` })
    const before = (await nginx.requests()).length
    for (const c of [...TRAVERSAL_CASES, ...CONFINED_CASES])
      await Promise.allSettled([driver.list(c.path), driver.stat(c.path), driver.read(c.path)])
    await driver.list('/')
    const log = (await nginx.requests()).slice(before)
    expect(log.length).toBeGreaterThan(CONFINED_CASES.length)
    for (const r of log) expect(r.target.startsWith(prefix), r.target).toBe(true)
    expect(log.some((r) => r.target.includes('canary'))).toBe(false)
  })

  it('calls checkAddress once per request nginx sees', async () => {
    const { id } = await area({ 'd/a.txt': 'a', 'b.txt': 'b' })
    let checks = 0
    const driver = createHttpDriver({
      url: `${nginx.url}${id}/`,
      checkAddress: async (host) => {
        expect(host).toBe('127.0.0.1')
        checks++
      },
    })
    const before = (await nginx.requests()).length
    await driver.test()
    await driver.list('/')
    await driver.stat('/d/a.txt')
    await readAllBytes((await driver.read('/b.txt')).stream)
    await driver.stats!()
    expect(checks).toBe((await nginx.requests()).length - before)
  })

  it('bounds stats() by statsMaxRequests and says truncated', async () => {
    const { id } = await area({ 'a.iso': '1', 'd1/b.img': '22', 'd2/c.txt': '333', 'd3/e': '4' })
    const url = `${nginx.url}${id}/`
    expect(await createHttpDriver({ url }).stats!()).toEqual({
      used_bytes: 7,
      file_count: 4,
      template_count: 2,
    })
    const partial = await createHttpDriver({ url, statsMaxRequests: 2 }).stats!()
    expect(partial.truncated).toBe(true)
    expect(partial.file_count).toBeLessThan(4)
    expect(partial.used_bytes).toBeLessThan(7)
  })

  it('fills item_count only while a page holds at most maxItemCounts directories', async () => {
    const { id } = await area({ 'a/1': '1', 'a/2': '2', 'b/1': '1', 'f.txt': 'f' })
    const url = `${nginx.url}${id}/`
    const counts = async (maxItemCounts: number) =>
      (await createHttpDriver({ url, maxItemCounts }).list('/')).items.map((i) => i.item_count)
    expect(await counts(2)).toEqual([2, 1, null])
    expect(await counts(1)).toEqual([null, null, null])
    expect((await createHttpDriver({ url, maxItemCounts: 0 }).stat('/a')).item_count).toBe(2)
  })

  it('refuses an index larger than maxIndexBytes', async () => {
    const files = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`file-${i}.txt`, 'x']))
    const { id } = await area(files)
    const driver = createHttpDriver({ url: `${nginx.url}${id}/`, maxIndexBytes: 2048 })
    await expect(driver.list('/')).rejects.toMatchObject({ code: 'payload_too_large' })
  })
})

describe('nginx with autoindex_exact_size off', () => {
  let rounded: NginxServer
  beforeAll(async () => {
    rounded = await startNginx({ exactSize: false })
  })
  afterAll(async () => {
    await rounded?.stop()
  })

  it('completes rounded sizes (12K) with HEAD, in list, stat and stats', async () => {
    await writeFile(join(rounded.dir, 'big.img'), pseudoRandomBytes(1_234_567, 3))
    await writeFile(join(rounded.dir, 'small.txt'), 'tiny')
    const driver = createHttpDriver({ url: rounded.url })
    const before = (await rounded.requests()).length // startNginx's readiness probes
    const items = (await driver.list('/')).items
    expect(items.map((i) => [i.name, i.size])).toEqual([
      ['big.img', 1_234_567],
      ['small.txt', 4],
    ])
    expect(await driver.stat('/big.img')).toEqual(items[0])
    expect(await driver.stats!()).toEqual({
      used_bytes: 1_234_571,
      file_count: 2,
      template_count: 1,
    })
    const heads = (await rounded.requests()).slice(before).filter((r) => r.method === 'HEAD')
    expect(heads.length).toBe(3) // list, stat and stats each ask once for `big.img` (`1.2M`)
    expect(heads.every((r) => r.target === '/big.img')).toBe(true) // `small.txt` said `4`
  })
})

describe('nginx with basic auth', () => {
  let locked: NginxServer
  const password = 'correct horse \u00e9 battery'
  beforeAll(async () => {
    locked = await startNginx({ auth: { username: 'alice', password } })
    await writeFile(join(locked.dir, 'a.txt'), 'guarded')
  })
  afterAll(async () => {
    await locked?.stop()
  })

  it('connects with the right password', async () => {
    for (const url of [locked.url, locked.jsonUrl]) {
      const driver = createHttpDriver({ url, username: 'alice', password })
      expect(await driver.test()).toMatchObject({ ok: true, message: 'Connected' })
      expect((await driver.list('/')).items.map((i) => i.name)).toEqual(['a.txt'])
    }
    expect((await locked.requests()).at(-1)).toMatchObject({ user: 'alice', status: 200 })
  })

  it('answers a wrong or missing password with ok: false and forbidden, never echoing it', async () => {
    for (const options of [{ username: 'alice', password: 'wrong-SECRET-pw' }, {}]) {
      const driver = createHttpDriver({ url: locked.url, ...options })
      const result = await driver.test()
      expect(result).toMatchObject({ ok: false, details: { status: 401 } })
      expect(result.message).toMatch(/Access denied \(HTTP 401\): check the username and password/)
      const errors = await Promise.all(
        [driver.list('/'), driver.stat('/a.txt'), driver.read('/a.txt')].map((p) =>
          p.catch((e: Error & { code?: string }) => e),
        ),
      )
      for (const e of errors) {
        expect((e as { code?: string }).code).toBe('forbidden')
        expect(`${(e as Error).message} ${JSON.stringify(e)}`).not.toContain('SECRET')
      }
      expect(JSON.stringify(result)).not.toContain('SECRET')
    }
  })
})
