import { constants } from 'node:fs'
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  realpath,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isPStorageError } from '../errors.js'
import { type LocalBase, mountsUnder, openVerified, resolveExisting } from './local-fs.js'

// The per-call checks of the local driver, driven directly so a swap can be placed exactly
// between the check and the open (the window a racing local user would aim for).
describe('local-fs: checks that hold inside one call', () => {
  let base = ''
  let root = ''
  let outside = ''
  let tree: LocalBase
  beforeEach(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'pstorage-localfs-')))
    root = join(base, 'root')
    outside = join(base, 'outside')
    await mkdir(join(root, 'dir'), { recursive: true })
    await mkdir(outside)
    await writeFile(join(root, 'dir', 'f.txt'), 'inside')
    await writeFile(join(outside, 'f.txt'), 'outside')
    tree = { real: root, dev: (await lstat(root)).dev, crossMounts: false, mounts: new Set() }
  })
  afterEach(() => rm(base, { recursive: true, force: true }))

  async function swapDirForLink(): Promise<void> {
    await rename(join(root, 'dir'), join(base, 'dir-away'))
    await symlink(outside, join(root, 'dir'))
  }

  async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
    return promise.then(
      () => undefined,
      (e: unknown) => (isPStorageError(e) ? e.code : String(e)),
    )
  }

  it('refuses to read a file whose parent was swapped after the check', async () => {
    const { abs, st } = await resolveExisting(tree, 'dir/f.txt')
    await swapDirForLink()
    const flags = constants.O_RDONLY | constants.O_NONBLOCK
    expect(await codeOf(openVerified(abs, 'dir/f.txt', flags, st))).toBe('forbidden')
  })

  it('removes a temp file created through a swapped parent, outside the root', async () => {
    const { abs } = await resolveExisting(tree, 'dir')
    await swapDirForLink()
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL
    expect(await codeOf(openVerified(join(abs, 'tmp'), 'dir/tmp', flags))).toBe('forbidden')
    expect(await readdir(outside)).toEqual(['f.txt'])
  })

  it('refuses a final symlink with O_NOFOLLOW even without an expected inode', async () => {
    await symlink(join(outside, 'f.txt'), join(root, 'link'))
    const flags = constants.O_RDONLY | constants.O_NONBLOCK
    expect(await codeOf(openVerified(join(root, 'link'), 'link', flags))).toBe('forbidden')
  })

  it('resolves only real directories: a symlink anywhere on the path is forbidden', async () => {
    await symlink(join(root, 'dir'), join(root, 'alias')) // even one pointing inside the root
    expect(await codeOf(resolveExisting(tree, 'alias/f.txt'))).toBe('forbidden')
    expect(await codeOf(resolveExisting(tree, 'dir/nope'))).toBe('not_found')
    expect((await resolveExisting(tree, 'dir/f.txt')).abs).toBe(join(root, 'dir', 'f.txt'))
  })

  it('finds no mount points under a fresh directory', async () => {
    expect([...(await mountsUnder(root))]).toEqual([])
  })
})
