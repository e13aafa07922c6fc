import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isPStorageError } from '../errors.js'
import type { BackendDriver } from '../ports/backend-driver.js'
import { runBackendDriverSuite } from '../testing/backend-driver-suite.js'
import { bytesSource, readAllBytes, requireOp } from './driver-kit.js'
import { createLocalDriver, DRIVER_NAME } from './local-driver.js'
import { TEMP_PREFIX } from './local-fs.js'
import { TRAVERSAL_CASES } from './traversal-cases.js'

const enc = new TextEncoder()
const dec = new TextDecoder()

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (e: unknown) => (isPStorageError(e) ? e.code : String(e)),
  )
}

// Layout per test: <base>/root is the backend; <base>/outside is a sibling that must stay
// untouched; both under one mkdtemp so nothing leaks between tests.
let base = ''
let root = ''
let outside = ''

runBackendDriverSuite({
  name: DRIVER_NAME,
  async create() {
    base = await mkdtemp(join(tmpdir(), 'pstorage-local-'))
    root = join(base, 'root')
    outside = join(base, 'outside')
    await mkdir(root)
    await mkdir(outside)
    await writeFile(join(outside, 'secret.txt'), 'outside')
    return createLocalDriver({ root })
  },
  destroy: () => rm(base, { recursive: true, force: true }),
  extra(get) {
    describe('local: symlinks, special files, containment', () => {
      const write = (p: string, text: string, overwrite = false) =>
        requireOp(get(), 'write')(p, bytesSource(enc.encode(text)), { overwrite })

      it('never lists, reads, writes or deletes through a symlink out of the root', async () => {
        await symlink('/etc', join(root, 'etc-link')) // ln -s /etc root/etc-link
        await symlink(outside, join(root, 'escape'))
        await symlink(join(outside, 'secret.txt'), join(root, 'secret-link'))
        await write('/a.txt', 'a')
        const d = get()
        expect((await d.list('/')).items.map((i) => i.name)).toEqual(['a.txt'])
        expect((await d.stat('/')).item_count).toBe(1)
        for (const p of ['/etc-link', '/etc-link/passwd', '/escape/secret.txt', '/secret-link']) {
          expect(await codeOf(d.stat(p)), p).toBe('forbidden')
          expect(await codeOf(d.read(p)), p).toBe('forbidden')
        }
        expect(await codeOf(d.list('/etc-link'))).toBe('forbidden')
        // A missing name behind the link is forbidden too: no oracle for files outside.
        expect(await codeOf(d.stat('/escape/no-such-file'))).toBe('forbidden')
        expect(await codeOf(write('/escape/new.txt', 'x'))).toBe('forbidden')
        expect(await codeOf(write('/escape/sub/new.txt', 'x'))).toBe('forbidden')
        expect(await codeOf(write('/secret-link', 'pwned', true))).toBe('forbidden')
        expect(await codeOf(requireOp(d, 'mkdir')('/escape/dir'))).toBe('forbidden')
        expect(await codeOf(requireOp(d, 'move')('/a.txt', '/escape/a.txt'))).toBe('forbidden')
        expect(await codeOf(requireOp(d, 'move')('/escape/secret.txt', '/stolen'))).toBe(
          'forbidden',
        )
        const del = await requireOp(d, 'delete')(['/escape/secret.txt', '/escape'])
        expect(del.map((r) => r.error?.code)).toEqual(['forbidden', 'forbidden'])
        expect(await readdir(outside)).toEqual(['secret.txt'])
        expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('outside')
        expect((await requireOp(d, 'stats')()).file_count).toBe(1)
      })

      it('refuses a directory swapped for a symlink between calls (TOCTOU)', async () => {
        await write('/dir/secret.txt', 'inside')
        expect(dec.decode(await readAllBytes((await get().read('/dir/secret.txt')).stream))).toBe(
          'inside',
        )
        await rename(join(root, 'dir'), join(base, 'dir-moved-away'))
        await symlink(outside, join(root, 'dir'))
        expect(await codeOf(get().read('/dir/secret.txt'))).toBe('forbidden')
        expect(await codeOf(write('/dir/secret.txt', 'x', true))).toBe('forbidden')
        expect(await codeOf(write('/dir/new.txt', 'x'))).toBe('forbidden')
        const del = await requireOp(get(), 'delete')(['/dir/secret.txt'])
        expect(del[0]?.error?.code).toBe('forbidden')
        expect(await readdir(outside)).toEqual(['secret.txt'])
        expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('outside')
      })

      it('creates nothing outside the root for any traversal case', async () => {
        for (const c of TRAVERSAL_CASES) {
          await codeOf(write(c.path, 'x', true))
          await codeOf(requireOp(get(), 'mkdir')(c.path))
        }
        expect((await readdir(base)).sort()).toEqual(['outside', 'root'])
        expect(await readdir(outside)).toEqual(['secret.txt'])
        expect(await readdir(root)).toEqual([])
      })

      it('hides temp files, refuses reserved names and leaves no temp file behind', async () => {
        await writeFile(join(root, `${TEMP_PREFIX}stale`), 'partial')
        await write('/ok.txt', 'ok')
        expect((await get().list('/')).items.map((i) => i.name)).toEqual(['ok.txt'])
        expect(await codeOf(get().stat(`/${TEMP_PREFIX}stale`))).toBe('bad_request')
        expect(await codeOf(write(`/d/${TEMP_PREFIX}x`, 'x'))).toBe('bad_request')
        expect((await readdir(root)).sort()).toEqual([`${TEMP_PREFIX}stale`, 'ok.txt'])
      })

      it('skips FIFOs and names the API cannot address, without blocking', async () => {
        execFileSync('mkfifo', [join(root, 'pipe')])
        await writeFile(join(root, 'cafe\u0301.txt'), 'nfd') // NFD name made outside the API
        await writeFile(join(root, 'a%2fb'), 'escaped')
        await write('/ok.txt', 'ok')
        expect((await get().list('/')).items.map((i) => i.name)).toEqual(['ok.txt'])
        expect((await get().stat('/')).item_count).toBe(1)
        expect(await codeOf(get().read('/pipe'))).toBe('not_found')
        expect(await codeOf(get().stat('/pipe'))).toBe('not_found')
      })

      it('keeps server paths out of error details', async () => {
        await symlink(outside, join(root, 'escape'))
        const errors = await Promise.all([
          get()
            .stat('/missing/x')
            .catch((e: Error) => e),
          get()
            .read('/escape/secret.txt')
            .catch((e: Error) => e),
          write('/escape/x', 'x').catch((e: Error) => e),
        ])
        for (const e of errors) {
          expect(isPStorageError(e)).toBe(true)
          expect((e as Error).message).not.toContain(base)
          expect((e as Error).message).toMatch(/^\[pstorage\] \[local\] /)
        }
      })
    })
  },
})

describe('local driver: configuration and availability', () => {
  let dir = ''
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pstorage-local-cfg-'))
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('refuses invalid configs with bad_request', () => {
    for (const config of [{ root: 'relative/dir' }, { root: '' }, { root: dir, extra: 1 }]) {
      let code: string | undefined
      try {
        createLocalDriver(config as { root: string })
      } catch (e) {
        code = isPStorageError(e) ? e.code : String(e)
      }
      expect(code).toBe('bad_request')
    }
  })

  it('answers test() with ok: false for a missing root, and ops with service_unavailable', async () => {
    const driver = createLocalDriver({ root: join(dir, 'missing') })
    const result = await driver.test()
    expect(result.ok).toBe(false)
    expect(result.message).not.toContain(dir)
    expect(await codeOf(driver.list('/'))).toBe('service_unavailable')
  })

  it('bounds the stats walk and says so', async () => {
    for (let i = 0; i < 10; i++) await writeFile(join(dir, `f${i}.iso`), 'x')
    const full = await requireOp(createLocalDriver({ root: dir }), 'stats')()
    expect(full).toMatchObject({ file_count: 10, template_count: 10, used_bytes: 10 })
    expect(full.truncated).toBeUndefined()
    const bounded = await requireOp(createLocalDriver({ root: dir, statsMaxEntries: 4 }), 'stats')()
    expect(bounded.truncated).toBe(true)
    expect(bounded.file_count).toBe(4)
  })

  it('serves a root given through a symlink (the root itself is resolved)', async () => {
    await mkdir(join(dir, 'real'))
    await symlink(join(dir, 'real'), join(dir, 'link'))
    const driver: BackendDriver = createLocalDriver({ root: join(dir, 'link') })
    await requireOp(driver, 'write')('/x.txt', bytesSource(enc.encode('x')))
    expect(await readdir(join(dir, 'real'))).toEqual(['x.txt'])
  })

  // Needs CAP_SYS_ADMIN: run with PSTORAGE_TEST_MOUNTS=1 as root.
  it.skipIf(process.env.PSTORAGE_TEST_MOUNTS !== '1')(
    'refuses to cross a bind mount under the root unless crossMounts',
    async () => {
      const root = join(dir, 'root')
      const other = join(dir, 'other')
      const point = join(root, 'd', 'mnt')
      await mkdir(point, { recursive: true })
      await mkdir(other)
      await writeFile(join(other, 'precious.txt'), 'keep')
      // A bind mount of the same file system keeps st_dev: only mountinfo tells it apart.
      execFileSync('mount', ['--bind', other, point])
      try {
        const driver = createLocalDriver({ root })
        expect(await codeOf(driver.list('/d/mnt'))).toBe('forbidden')
        const del = await requireOp(driver, 'delete')(['/d/mnt/precious.txt', '/d'])
        expect(del.map((r) => r.error?.code)).toEqual(['forbidden', 'forbidden'])
        const crossing = createLocalDriver({ root, crossMounts: true })
        expect((await crossing.list('/d/mnt')).items.map((i) => i.name)).toEqual(['precious.txt'])
      } finally {
        execFileSync('umount', [point])
      }
      expect(await readFile(join(other, 'precious.txt'), 'utf8')).toBe('keep')
    },
  )
})
