import { randomBytes } from 'node:crypto'
import { chmod, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isPStorageError, type PStorageError } from '../errors.js'
import { createAesGcmVault } from './aes-gcm-vault.js'
import {
  KEY_FILE_NAME,
  loadOrCreateKeyring,
  MASTER_KEY_ENV,
  retireKeyVersion,
  rotateKeyFile,
} from './key-file.js'

let dir: string
let keyPath: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pstorage-key-'))
  keyPath = join(dir, KEY_FILE_NAME)
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const load = (env: Record<string, string | undefined> = {}) =>
  loadOrCreateKeyring({ dataDir: dir, env })

async function failure(promise: Promise<unknown>): Promise<PStorageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!isPStorageError(error)) throw new Error(`expected a PStorageError, got ${String(error)}`)
  return error
}

const posix = process.platform !== 'win32'

describe('loadOrCreateKeyring: key file', () => {
  it('creates master.key with mode 0600 and a 32-byte version-1 key', async () => {
    const keyring = await load()
    expect(keyring.current).toBe(1)
    expect(keyring.keys.get(1)).toHaveLength(32)
    if (posix) expect((await stat(keyPath)).mode & 0o777).toBe(0o600)
    const json = JSON.parse(await readFile(keyPath, 'utf8'))
    expect(json).toEqual({
      format: 'pstorage-keyring/v1',
      current: 1,
      keys: { 1: Buffer.from(keyring.keys.get(1)!).toString('base64') },
    })
    // No temp file is left behind.
    expect(await readdir(dir)).toEqual([KEY_FILE_NAME])
  })

  it('is idempotent: later loads return the same key', async () => {
    const first = await load()
    const second = await load()
    expect(Buffer.from(second.keys.get(1)!)).toEqual(Buffer.from(first.keys.get(1)!))
  })

  it('agrees on one key when many processes start at once', async () => {
    const keyrings = await Promise.all(Array.from({ length: 8 }, () => load()))
    const onDisk = await load()
    for (const keyring of keyrings) {
      expect(Buffer.from(keyring.keys.get(1)!)).toEqual(Buffer.from(onDisk.keys.get(1)!))
    }
    expect(await readdir(dir)).toEqual([KEY_FILE_NAME])
  })

  it('creates a missing data directory', async () => {
    const nested = join(dir, 'a', 'b')
    await loadOrCreateKeyring({ dataDir: nested, env: {} })
    expect((await stat(join(nested, KEY_FILE_NAME))).isFile()).toBe(true)
  })

  it('accepts a bare base64 key written by an operator', async () => {
    const key = randomBytes(32)
    await writeFile(keyPath, `${key.toString('base64')}\n`, { mode: 0o600 })
    const keyring = await load()
    expect(keyring.current).toBe(1)
    expect(Buffer.from(keyring.keys.get(1)!)).toEqual(key)
  })

  it.runIf(posix)('refuses a key file readable by group or others', async () => {
    await load()
    for (const mode of [0o640, 0o604, 0o660, 0o644]) {
      await chmod(keyPath, mode)
      const error = await failure(load())
      expect(error.code).toBe('internal_error')
      expect(error.details?.reason).toBe('insecure_key_file')
      expect(error.message).toContain(`mode 0${mode.toString(8)}`)
      expect(error.message).toContain('chmod 600')
    }
    await chmod(keyPath, 0o400)
    expect((await load()).current).toBe(1)
  })

  it('refuses a directory in place of the key file', async () => {
    const { mkdir } = await import('node:fs/promises')
    await mkdir(keyPath, { mode: 0o700 })
    expect((await failure(load())).details?.reason).toBe('insecure_key_file')
  })

  it.runIf(posix)('checks the target of a symlinked key file', async () => {
    const target = join(dir, 'real.key')
    await writeFile(target, randomBytes(32).toString('base64'), { mode: 0o644 })
    await symlink(target, keyPath)
    expect((await failure(load())).details?.reason).toBe('insecure_key_file')
  })

  it('reports corrupt files without leaking their contents', async () => {
    const secret = randomBytes(31).toString('base64')
    const corrupt = [
      '',
      'not a key',
      secret,
      '{"current":1,"keys":{"1":"',
      `{"current":2,"keys":{"1":"${randomBytes(32).toString('base64')}"}}`,
      `{"current":1,"keys":{"1":"${secret}"}}`,
      `{"current":1,"keys":{"0":"${randomBytes(32).toString('base64')}"}}`,
      '{"current":1,"keys":{},"extra":true}',
      '{"format":"pstorage-keyring/v9","current":1,"keys":{}}',
      'x'.repeat(70_000),
    ]
    for (const content of corrupt) {
      await writeFile(keyPath, content, { mode: 0o600 })
      const error = await failure(load())
      expect(error.code, content.slice(0, 40)).toBe('data_corruption')
      expect(error.details?.reason).toBe('corrupt_key_file')
      expect(error.message).toContain(keyPath)
      expect(error.message).not.toContain(secret)
    }
  })
})

describe('loadOrCreateKeyring: environment', () => {
  it('uses a bare base64 key from PSTORAGE_MASTER_KEY and creates no file', async () => {
    const key = randomBytes(32)
    const keyring = await load({ [MASTER_KEY_ENV]: key.toString('base64') })
    expect(keyring.current).toBe(1)
    expect(Buffer.from(keyring.keys.get(1)!)).toEqual(key)
    expect(await readdir(dir)).toEqual([])
  })

  it('accepts a JSON keyring for rotation and prefers it over the file', async () => {
    await load()
    const [k1, k2] = [randomBytes(32), randomBytes(32)]
    const env = JSON.stringify({
      current: 2,
      keys: { 1: k1.toString('base64'), 2: k2.toString('base64') },
    })
    const keyring = await load({ [MASTER_KEY_ENV]: env })
    expect(keyring.current).toBe(2)
    expect(Buffer.from(keyring.keys.get(1)!)).toEqual(k1)
    expect(Buffer.from(keyring.keys.get(2)!)).toEqual(k2)
  })

  it('treats an empty variable as unset', async () => {
    expect((await load({ [MASTER_KEY_ENV]: '  ' })).current).toBe(1)
    expect(await readdir(dir)).toEqual([KEY_FILE_NAME])
  })

  it('rejects a short, non-canonical or malformed key with internal_error', async () => {
    const short = randomBytes(16).toString('base64')
    for (const value of [short, 'hunter2', `${randomBytes(32).toString('base64')}!`, '{"a":1}']) {
      const error = await failure(load({ [MASTER_KEY_ENV]: value }))
      expect(error.code).toBe('internal_error')
      expect(error.details?.reason).toBe('invalid_master_key')
      expect(error.message).toContain(MASTER_KEY_ENV)
      expect(error.message).not.toContain(short)
    }
  })
})

describe('rotateKeyFile and retireKeyVersion', () => {
  it('adds a new current version, keeps old ones, and values still open', async () => {
    const v1 = await load()
    const sealed = await createAesGcmVault({ keyring: v1 }).seal('s3cr3t', 'ctx')
    const rotated = await rotateKeyFile(dir)
    expect(rotated.current).toBe(2)
    expect([...rotated.keys.keys()]).toEqual([1, 2])
    expect(Buffer.from(rotated.keys.get(1)!)).toEqual(Buffer.from(v1.keys.get(1)!))
    expect(Buffer.from(rotated.keys.get(2)!)).not.toEqual(Buffer.from(v1.keys.get(1)!))
    if (posix) expect((await stat(keyPath)).mode & 0o777).toBe(0o600)

    const reloaded = await load()
    expect(reloaded.current).toBe(2)
    const vault = createAesGcmVault({ keyring: reloaded })
    expect(await vault.open(sealed, 'ctx')).toBe('s3cr3t')
    expect((await vault.reseal(sealed, 'ctx')).startsWith('v1.2.')).toBe(true)
    expect(await readdir(dir)).toEqual([KEY_FILE_NAME])
  })

  it('never reuses a retired version number', async () => {
    await load()
    await rotateKeyFile(dir)
    const retired = await retireKeyVersion(dir, 1)
    expect([...retired.keys.keys()]).toEqual([2])
    expect((await load()).keys.has(1)).toBe(false)
    const again = await rotateKeyFile(dir)
    expect(again.current).toBe(3)
  })

  it('refuses to retire the current or an unknown version', async () => {
    await load()
    expect((await failure(retireKeyVersion(dir, 1))).details?.reason).toBe('retire_current')
    expect((await failure(retireKeyVersion(dir, 7))).code).toBe('not_found')
  })

  it('fails with not_found when there is no key file to rotate', async () => {
    const error = await failure(rotateKeyFile(dir))
    expect(error.code).toBe('not_found')
    expect(error.details?.reason).toBe('missing_key_file')
  })

  it.runIf(posix)('refuses to rotate an insecure key file', async () => {
    await load()
    await chmod(keyPath, 0o644)
    expect((await failure(rotateKeyFile(dir))).details?.reason).toBe('insecure_key_file')
  })
})
