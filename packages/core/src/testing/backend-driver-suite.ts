import { createHash } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bytesSource, readAllBytes, requireOp } from '../backends/driver-kit.js'
import { CONFINED_CASES, TRAVERSAL_CASES } from '../backends/traversal-cases.js'
import { isPStorageError } from '../errors.js'
import type {
  BackendCapabilities,
  BackendDriver,
  ReadOptions,
  StorageFile,
} from '../ports/backend-driver.js'
import { pseudoRandomBytes } from './block-engine-suite.js'

/** A fixture entry for {@link BackendDriverSuiteOptions.seed}: a file, or a directory without `data`. */
export interface SeedEntry {
  /** Canonical API path (`/a/b.txt`, NFC). */
  readonly path: string
  readonly data?: Uint8Array
}

/** Options of {@link runBackendDriverSuite}. */
export interface BackendDriverSuiteOptions {
  /** Suite title. */
  readonly name: string
  /** Makes a driver over a fresh, empty backend for each test. */
  readonly create: () => Promise<BackendDriver>
  /** What the driver must declare; decides which tests run. @default all true */
  readonly capabilities?: Partial<BackendCapabilities>
  /**
   * Puts fixtures into the driver's backend behind its back. Required for read-only drivers;
   * writable drivers default to their own `write`/`mkdir`.
   */
  readonly seed?: (driver: BackendDriver, entries: readonly SeedEntry[]) => Promise<void>
  /** Tests (by exact title) this driver cannot pass, each with the reason. */
  readonly skip?: readonly { readonly reason: string; readonly tests: readonly string[] }[]
  /** Registers driver-specific tests inside the suite; `get()` is the current driver. */
  readonly extra?: (get: () => BackendDriver) => void
  /** Called after each test (driver closed) to remove the backend's data. */
  readonly destroy?: (driver: BackendDriver) => void | Promise<void>
}

const MiB = 1024 * 1024
const enc = new TextEncoder()
const dec = new TextDecoder()
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error, `expected a ${code} error`).toBeDefined()
  expect(isPStorageError(error) ? error.code : error).toBe(code)
}

function expectStorageFile(f: StorageFile, path: string, type: StorageFile['type']): void {
  expect(f.path).toBe(path)
  expect(f.name).toBe(path === '/' ? '' : path.slice(path.lastIndexOf('/') + 1))
  expect(f.type).toBe(type)
  expect(f.modified_at).toMatch(ISO)
  expect(Math.abs(Date.parse(f.modified_at) - Date.now())).toBeLessThan(86_400_000)
  if (type === 'file') {
    expect(typeof f.size).toBe('number')
    expect(typeof f.mime_type).toBe('string')
    expect(f.item_count).toBeNull()
  } else {
    expect(f.size).toBeNull()
    expect(f.mime_type).toBeNull()
  }
}

/**
 * The conformance suite of the `BackendDriver` port: every driver runs it, and it asserts
 * exactly the contract documented on `BackendDriver`. Read-only drivers declare
 * `capabilities: { write: false, move: false }` and provide `seed`.
 *
 * @example
 * ```ts
 * runBackendDriverSuite({
 *   name: 'local',
 *   create: async () => createLocalDriver({ root: await mkdtemp(join(tmpdir(), 'ps-')) }),
 * })
 * ```
 */
export function runBackendDriverSuite(options: BackendDriverSuiteOptions): void {
  const caps: BackendCapabilities = {
    write: true,
    rangeRead: true,
    move: true,
    stats: true,
    ...options.capabilities,
  }
  if (!caps.write && !options.seed) throw new Error('A read-only driver suite needs `seed`')
  const skipped = new Map<string, string>()
  for (const s of options.skip ?? []) for (const t of s.tests) skipped.set(t, s.reason)
  const titles = new Set<string>()

  describe(`BackendDriver conformance: ${options.name}`, () => {
    let driver: BackendDriver
    beforeEach(async () => {
      driver = await options.create()
    })
    afterEach(async () => {
      await driver.close().catch(() => undefined)
      await options.destroy?.(driver)
    })

    function test(title: string, fn: () => Promise<void>, timeout?: number): void {
      titles.add(title)
      const reason = skipped.get(title)
      if (reason) it.skip(`${title} (skipped: ${reason})`, fn)
      else it(title, fn, timeout)
    }
    async function put(entries: readonly SeedEntry[]): Promise<void> {
      if (options.seed) return options.seed(driver, entries)
      for (const e of entries)
        if (e.data) await requireOp(driver, 'write')(e.path, bytesSource(e.data))
        else await requireOp(driver, 'mkdir')(e.path)
    }
    async function readText(path: string, range?: ReadOptions): Promise<string> {
      return dec.decode(await readAllBytes((await driver.read(path, range)).stream))
    }
    const names = async (path: string) => (await driver.list(path)).items.map((i) => i.name)
    const file = (path: string, text: string): SeedEntry => ({ path, data: enc.encode(text) })

    describe('contract', () => {
      test('declares its capabilities and exactly the methods they promise', async () => {
        expect(driver.name).toMatch(/^[a-z][a-z0-9-]*$/)
        expect({ ...driver.capabilities }).toEqual(caps)
        for (const op of ['write', 'mkdir', 'delete'] as const)
          expect(typeof driver[op] === 'function').toBe(caps.write)
        expect(typeof driver.move === 'function').toBe(caps.move)
        expect(typeof driver.stats === 'function').toBe(caps.stats)
      })

      test('answers test() with ok, a latency and a message', async () => {
        const result = await driver.test()
        expect(result.ok).toBe(true)
        expect(result.latency_ms).toBeGreaterThanOrEqual(0)
        expect(result.message.length).toBeGreaterThan(0)
      })

      test('refuses use after close with service_unavailable; close is idempotent', async () => {
        await driver.close()
        await driver.close()
        await rejectsWith(driver.list('/'), 'service_unavailable')
        await rejectsWith(driver.stat('/'), 'service_unavailable')
      })
    })

    describe('reading', () => {
      test('lists an empty root and stats it as a directory', async () => {
        expect(await driver.list('/')).toEqual({ items: [] })
        expectStorageFile(await driver.stat('/'), '/', 'directory')
        expect((await driver.stat('')).path).toBe('/')
      })

      test('round-trips bytes: stat, list and read agree', async () => {
        await put([file('/hello.txt', 'Hello World!')])
        const st = await driver.stat('/hello.txt')
        expectStorageFile(st, '/hello.txt', 'file')
        expect(st.size).toBe(12)
        expect(st.mime_type).toMatch(/^text\/plain/)
        expect((await driver.list('/')).items).toEqual([st])
        const read = await driver.read('hello.txt')
        expect({ size: read.size, offset: read.offset, length: read.length }).toEqual({
          size: 12,
          offset: 0,
          length: 12,
        })
        expect(read.content_type).toMatch(/^text\/plain/)
        expect(dec.decode(await readAllBytes(read.stream))).toBe('Hello World!')
      })

      test('lists directories first, then names in code point order', async () => {
        const files = ['b', 'B', 'a', '_', '\u00e9', '\uff21', '\u{1f600}']
        await put([{ path: '/b-dir' }, { path: '/A-dir' }, ...files.map((n) => file(`/${n}`, n))])
        // Code point order puts U+FF21 before U+1F600; UTF-16 order (`<`) would not.
        expect(await names('/')).toEqual([
          'A-dir',
          'b-dir',
          'B',
          '_',
          'a',
          'b',
          '\u00e9',
          '\uff21',
          '\u{1f600}',
        ])
      })

      test('lists only direct children, with item_count for directories', async () => {
        await put([file('/d/x', '1'), file('/d/y', '2'), file('/d/sub/z', '3'), file('/top', '4')])
        const root = (await driver.list('/')).items
        expect(root.map((i) => [i.path, i.type])).toEqual([
          ['/d', 'directory'],
          ['/top', 'file'],
        ])
        expect([3, null]).toContain(root[0]!.item_count)
        const d = (await driver.list('/d/')).items
        expect(d.map((i) => i.path)).toEqual(['/d/sub', '/d/x', '/d/y'])
        expect([1, null]).toContain(d[0]!.item_count)
      })

      test('paginates with an opaque cursor, each entry exactly once', async () => {
        const all = [
          ...Array.from({ length: 4 }, (_, i) => ({ path: `/dir${i}` })),
          ...Array.from({ length: 21 }, (_, i) => file(`/f${String(i).padStart(2, '0')}`, `${i}`)),
        ]
        await put(all)
        const seen: string[] = []
        let cursor: string | undefined
        let pages = 0
        do {
          const page = await driver.list(
            '/',
            cursor === undefined ? { limit: 10 } : { limit: 10, cursor },
          )
          seen.push(...page.items.map((i) => i.path))
          cursor = page.next_cursor
          pages++
        } while (cursor !== undefined && pages < 10)
        expect(pages).toBe(3)
        expect(seen).toEqual((await driver.list('/')).items.map((i) => i.path))
        expect(new Set(seen).size).toBe(25)
        expect((await driver.list('/')).next_cursor).toBeUndefined()
      })

      test('refuses bad limits and cursors with bad_request', async () => {
        for (const limit of [0, 1001, 1.5, -1])
          await rejectsWith(driver.list('/', { limit }), 'bad_request')
        for (const cursor of ['not a cursor!', 'e30', ''])
          await rejectsWith(driver.list('/', { cursor }), 'bad_request')
      })

      test('answers not_found for missing paths, also below a file', async () => {
        await put([file('/a.txt', 'a')])
        for (const path of ['/nope', '/nope/x', '/a.txt/x']) {
          await rejectsWith(driver.stat(path), 'not_found')
          await rejectsWith(driver.read(path), 'not_found')
          await rejectsWith(driver.list(path), 'not_found')
        }
      })

      test('refuses to list a file or read a directory with bad_request', async () => {
        await put([file('/d/a.txt', 'a')])
        await rejectsWith(driver.list('/d/a.txt'), 'bad_request')
        await rejectsWith(driver.read('/d'), 'bad_request')
      })

      if (caps.rangeRead)
        test('reads byte ranges, clamping the length to the end', async () => {
          const data = pseudoRandomBytes(100, 9)
          await put([{ path: '/r.bin', data }])
          const range = async (o: ReadOptions) => {
            const r = await driver.read('/r.bin', o)
            return {
              bytes: await readAllBytes(r.stream),
              size: r.size,
              offset: r.offset,
              length: r.length,
            }
          }
          expect(await range({ offset: 10, length: 20 })).toEqual({
            bytes: data.slice(10, 30),
            size: 100,
            offset: 10,
            length: 20,
          })
          expect((await range({ offset: 90 })).bytes).toEqual(data.slice(90))
          expect(await range({ offset: 95, length: 100 })).toMatchObject({
            bytes: data.slice(95),
            length: 5,
          })
          expect(await range({ offset: 100 })).toMatchObject({
            length: 0,
            bytes: new Uint8Array(0),
          })
          expect((await range({ length: 3 })).bytes).toEqual(data.slice(0, 3))
          await rejectsWith(driver.read('/r.bin', { offset: 101 }), 'range_not_satisfiable')
          for (const bad of [{ offset: -1 }, { length: -1 }, { offset: 1.5 }])
            await rejectsWith(driver.read('/r.bin', bad), 'bad_request')
        })
      else
        test('refuses ranged reads with not_applicable', async () => {
          await put([file('/r.txt', 'abc')])
          await rejectsWith(driver.read('/r.txt', { offset: 1 }), 'not_applicable')
          expect(await readText('/r.txt')).toBe('abc')
        })

      test('reads an empty file as zero bytes', async () => {
        await put([{ path: '/empty.bin', data: new Uint8Array(0) }])
        expect((await driver.stat('/empty.bin')).size).toBe(0)
        const read = await driver.read('/empty.bin')
        expect([read.size, read.length]).toEqual([0, 0])
        expect((await readAllBytes(read.stream)).length).toBe(0)
        expect((await driver.list('/')).items[0]).toMatchObject({ name: 'empty.bin', size: 0 })
      })

      test('finds NFC-stored unicode names by their NFC and NFD spellings', async () => {
        await put([file('/caf\u00e9/\u65e5\u672c.txt', 'jp'), file('/\u{1f600}.bin', 'emoji')])
        expect(await names('/')).toEqual(['caf\u00e9', '\u{1f600}.bin'])
        expect(await readText('/cafe\u0301/\u65e5\u672c.txt')).toBe('jp')
        expect((await driver.stat('/cafe\u0301')).name).toBe('caf\u00e9')
        expect(await readText('/\u{1f600}.bin')).toBe('emoji')
      })

      test('streams a 32 MiB file intact (SHA-256)', async () => {
        const data = pseudoRandomBytes(32 * MiB, 42)
        const expected = createHash('sha256').update(data).digest('hex')
        if (options.seed || !caps.write) await put([{ path: '/big.bin', data }])
        else {
          const st = await requireOp(driver, 'write')('/big.bin', bytesSource(data, MiB))
          expect(st.size).toBe(32 * MiB)
        }
        const read = await driver.read('/big.bin')
        const hash = createHash('sha256')
        let total = 0
        for await (const chunk of read.stream as AsyncIterable<Uint8Array>) {
          hash.update(chunk)
          total += chunk.length
        }
        expect(total).toBe(32 * MiB)
        expect(hash.digest('hex')).toBe(expected)
      }, 30_000)

      test('refuses every traversal case before touching storage', async () => {
        await put([file('/ok.txt', 'ok')])
        const before = await driver.list('/')
        let pulled = 0
        const source = async function* () {
          pulled++
          yield enc.encode('x')
        }
        for (const c of TRAVERSAL_CASES) {
          const label = `${c.note} (${JSON.stringify(c.path)})`
          const calls: Promise<unknown>[] = [
            driver.list(c.path),
            driver.stat(c.path),
            driver.read(c.path),
          ]
          if (driver.write) calls.push(driver.write(c.path, source(), { overwrite: true }))
          if (driver.mkdir) calls.push(driver.mkdir(c.path))
          if (driver.delete) calls.push(driver.delete(['/ok.txt', c.path]))
          if (driver.move) calls.push(driver.move(c.path, '/moved'), driver.move('/ok.txt', c.path))
          for (const call of calls)
            await rejectsWith(call, 'bad_request').catch((e) => {
              throw new Error(`${label}: ${(e as Error).message}`)
            })
        }
        expect(pulled).toBe(0)
        expect(await driver.list('/')).toEqual(before)
        expect(await readText('/ok.txt')).toBe('ok')
      })

      test('confines absolute-looking paths to the backend root', async () => {
        for (const c of CONFINED_CASES) await rejectsWith(driver.stat(c.path), 'not_found')
        await put([file('/etc/passwd', 'not the host file')])
        expect(await readText('/etc/passwd')).toBe('not the host file')
        expect(await names('/')).toEqual(['etc'])
      })
    })

    if (caps.write) registerWriteTests()
    if (caps.move) registerMoveTests()
    if (caps.stats)
      describe('stats', () => {
        test('counts used bytes, files and templates', async () => {
          const empty = await requireOp(driver, 'stats')()
          expect([empty.used_bytes, empty.file_count, empty.template_count]).toEqual([0, 0, 0])
          await put([
            file('/a.iso', '0123456789'),
            file('/b.QCOW2', 'x'.repeat(20)),
            file('/c.txt', 'hello'),
            file('/d/e.vhdx', '1'),
          ])
          const stats = await requireOp(driver, 'stats')()
          expect(stats).toMatchObject({ used_bytes: 36, file_count: 4, template_count: 3 })
          if (stats.total_bytes !== undefined) expect(stats.total_bytes).toBeGreaterThanOrEqual(36)
        })
      })

    options.extra?.(() => driver)

    function registerWriteTests(): void {
      const write = (p: string, text: string, overwrite = false) =>
        requireOp(driver, 'write')(p, bytesSource(enc.encode(text)), { overwrite })

      describe('writing', () => {
        test('creates missing parent directories on write', async () => {
          const st = await write('/x/y/z.txt', 'deep')
          expectStorageFile(st, '/x/y/z.txt', 'file')
          expectStorageFile(await driver.stat('/x/y'), '/x/y', 'directory')
          expect(await readText('/x/y/z.txt')).toBe('deep')
        })

        test('refuses to overwrite without overwrite: true (conflict), replaces with it', async () => {
          await write('/a.txt', 'v1')
          await rejectsWith(write('/a.txt', 'v2'), 'conflict')
          expect(await readText('/a.txt')).toBe('v1')
          expect((await write('/a.txt', 'version 3', true)).size).toBe(9)
          expect(await readText('/a.txt')).toBe('version 3')
        })

        test('never replaces a directory or writes below a file (conflict)', async () => {
          await requireOp(driver, 'mkdir')('/d')
          await write('/f', 'file')
          await rejectsWith(write('/d', 'x'), 'conflict')
          await rejectsWith(write('/d', 'x', true), 'conflict')
          await rejectsWith(write('/', 'x', true), 'conflict')
          await rejectsWith(write('/f/x', 'x'), 'conflict')
          expect(await names('/')).toEqual(['d', 'f'])
        })

        test('leaves nothing behind when the source fails, and keeps old content', async () => {
          const boom = new Error('client went away')
          const failing = async function* () {
            yield pseudoRandomBytes(MiB)
            throw boom
          }
          const err = await requireOp(driver, 'write')('/new/dir/f.bin', failing()).catch((e) => e)
          expect(err).toBe(boom)
          expect(await driver.list('/')).toEqual({ items: [] })
          await write('/keep.txt', 'old')
          const err2 = await requireOp(driver, 'write')('/keep.txt', failing(), {
            overwrite: true,
          }).catch((e) => e)
          expect(err2).toBe(boom)
          expect(await readText('/keep.txt')).toBe('old')
          expect(await names('/')).toEqual(['keep.txt'])
        })

        test('hides an in-flight write until it completes', async () => {
          let release!: () => void
          let reached!: () => void
          const gate = new Promise<void>((r) => {
            release = r
          })
          const paused = new Promise<void>((r) => {
            reached = r
          })
          const slow = async function* () {
            yield enc.encode('first half, ')
            reached()
            await gate
            yield enc.encode('second half')
          }
          const writing = requireOp(driver, 'write')('/slow.txt', slow())
          await paused
          await rejectsWith(driver.stat('/slow.txt'), 'not_found')
          expect(await names('/')).toEqual([])
          release()
          await writing
          expect(await readText('/slow.txt')).toBe('first half, second half')
        })

        test('lands concurrent writes to different files', async () => {
          const blobs = Array.from({ length: 16 }, (_, i) =>
            pseudoRandomBytes(256 * 1024 + i, i + 1),
          )
          await Promise.all(
            blobs.map((b, i) =>
              requireOp(driver, 'write')(`/c/${i}.bin`, bytesSource(b, 16 * 1024)),
            ),
          )
          for (const [i, b] of blobs.entries()) {
            const got = await readAllBytes((await driver.read(`/c/${i}.bin`)).stream)
            // Buffer.equals, not toEqual: vitest compares typed arrays element by element.
            expect(Buffer.from(got).equals(b), `/c/${i}.bin`).toBe(true)
          }
          expect((await driver.list('/c')).items).toHaveLength(16)
        })

        test('lets exactly one of concurrent non-overwriting writers win', async () => {
          const texts = Array.from({ length: 8 }, (_, i) => `writer ${i} `.repeat(1000))
          const results = await Promise.allSettled(texts.map((t) => write('/race.txt', t)))
          const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []))
          expect(won).toHaveLength(1)
          for (const r of results)
            if (r.status === 'rejected') expect(isPStorageError(r.reason, 'conflict')).toBe(true)
          expect(await readText('/race.txt')).toBe(texts[won[0]!])
        })

        test('keeps list pages stable while entries are added (key-set cursor)', async () => {
          for (let i = 0; i < 10; i++) await write(`/f${i}`, `${i}`)
          const first = await driver.list('/', { limit: 5 })
          // An offset cursor would now repeat f4; a key-set cursor resumes after it.
          await write('/e-new', 'before the cursor')
          await write('/g-new', 'after the cursor')
          const rest: string[] = []
          let cursor = first.next_cursor
          while (cursor !== undefined) {
            const page = await driver.list('/', { limit: 5, cursor })
            rest.push(...page.items.map((i) => i.name))
            cursor = page.next_cursor
          }
          const seen = [...first.items.map((i) => i.name), ...rest]
          for (let i = 0; i < 10; i++) expect(seen.filter((n) => n === `f${i}`)).toHaveLength(1)
          expect(rest).toContain('g-new')
          expect(rest).not.toContain('e-new')
        })

        test('creates folders: conflict if anything exists, parents made as needed', async () => {
          const mkdir = requireOp(driver, 'mkdir')
          const d = await mkdir('/d')
          expectStorageFile(d, '/d', 'directory')
          expect([0, null]).toContain(d.item_count)
          await rejectsWith(mkdir('/d'), 'conflict')
          await rejectsWith(mkdir('/'), 'conflict')
          await mkdir('/p/q/r')
          expect((await driver.stat('/p/q')).type).toBe('directory')
          await write('/f', 'x')
          await rejectsWith(mkdir('/f'), 'conflict')
          await rejectsWith(mkdir('/f/g'), 'conflict')
        })

        test('deletes files and directories recursively, reporting per path in order', async () => {
          await put([
            file('/a.txt', 'a'),
            file('/d/x', 'x'),
            file('/d/sub/y', 'y'),
            file('/keep.txt', 'k'),
          ])
          const results = await requireOp(driver, 'delete')(['/a.txt', '/missing', 'd/'])
          expect(results.map((r) => [r.path, r.deleted, r.error?.code])).toEqual([
            ['/a.txt', true, undefined],
            ['/missing', false, 'not_found'],
            ['/d', true, undefined],
          ])
          await rejectsWith(driver.stat('/d/sub/y'), 'not_found')
          expect(await names('/')).toEqual(['keep.txt'])
        })

        test('validates every delete path first: one bad path deletes nothing', async () => {
          await write('/a.txt', 'a')
          const del = requireOp(driver, 'delete')
          await rejectsWith(del(['/a.txt', '../a.txt']), 'bad_request')
          await rejectsWith(del(['/a.txt', '/']), 'bad_request')
          await rejectsWith(del(Array.from({ length: 1001 }, () => '/a.txt')), 'bad_request')
          expect(await readText('/a.txt')).toBe('a')
        })
      })
    }

    function registerMoveTests(): void {
      const move = (a: string, b: string, overwrite = false) =>
        requireOp(driver, 'move')(a, b, { overwrite })

      describe('moving', () => {
        test('moves and renames files, creating parents', async () => {
          await put([file('/a.txt', 'A')])
          expectStorageFile(await move('/a.txt', '/b/c.txt'), '/b/c.txt', 'file')
          await rejectsWith(driver.stat('/a.txt'), 'not_found')
          expect(await readText('/b/c.txt')).toBe('A')
        })

        test('moves directories with their contents', async () => {
          await put([file('/d/x', 'x'), file('/d/sub/y', 'y')])
          expectStorageFile(await move('/d', '/e'), '/e', 'directory')
          await rejectsWith(driver.stat('/d'), 'not_found')
          expect(await readText('/e/sub/y')).toBe('y')
          expect(await names('/e')).toEqual(['sub', 'x'])
        })

        test('replaces only a file, only with overwrite; never a directory or a type', async () => {
          await put([file('/a', 'A'), file('/b', 'B'), { path: '/dir' }, { path: '/dir2' }])
          await rejectsWith(move('/a', '/b'), 'conflict')
          expect([await readText('/a'), await readText('/b')]).toEqual(['A', 'B'])
          await move('/a', '/b', true)
          expect(await readText('/b')).toBe('A')
          await rejectsWith(driver.stat('/a'), 'not_found')
          await rejectsWith(move('/b', '/dir', true), 'conflict')
          await rejectsWith(move('/dir', '/b', true), 'conflict')
          await rejectsWith(move('/dir', '/dir2', true), 'conflict')
          expect(await names('/')).toEqual(['dir', 'dir2', 'b'])
        })

        test('refuses moving the root, onto itself or into itself; missing is not_found', async () => {
          await put([file('/d/x', 'x')])
          await rejectsWith(move('/', '/r'), 'bad_request')
          await rejectsWith(move('/d', '/d'), 'bad_request')
          await rejectsWith(move('/d', '/d/inner'), 'bad_request')
          await rejectsWith(move('/nope', '/n'), 'not_found')
          expect(await readText('/d/x')).toBe('x')
        })
      })
    }
  })

  describe(`BackendDriver conformance: ${options.name} (suite options)`, () => {
    it('skip names only tests that exist', () => {
      expect([...skipped.keys()].filter((t) => !titles.has(t))).toEqual([])
    })
  })
}
