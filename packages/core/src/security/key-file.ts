import { randomBytes } from 'node:crypto'
import { constants, type FileHandle, link, mkdir, open, rename, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { PStorageError } from '../errors.js'
import { createKeyring, KEY_BYTES, type Keyring } from './keyring.js'
import { formatKeyring, parseKeyring } from './keyring-text.js'

/** Environment variable holding the key-encryption keyring; it wins over the key file. */
export const MASTER_KEY_ENV = 'PSTORAGE_MASTER_KEY'
/** Name of the key file inside the data directory. */
export const KEY_FILE_NAME = 'master.key'

// A keyring of a few dozen versions is a few KiB; anything far larger is not ours.
const MAX_KEY_FILE_BYTES = 64 * 1024

/** Options of {@link loadOrCreateKeyring}. */
export interface LoadKeyringOptions {
  /** Directory of `master.key`; created (mode 0700) if missing. */
  readonly dataDir: string
  /** The environment to read {@link MASTER_KEY_ENV} from (inject `process.env`). */
  readonly env: Readonly<Record<string, string | undefined>>
}

/**
 * Loads the key-encryption keyring, which lives outside the metadata database so a stolen
 * database alone reveals no credential. Sources, first match wins:
 * 1. `PSTORAGE_MASTER_KEY` (an empty value counts as unset): a bare base64 32-byte key
 *    (version 1) or a JSON keyring `{"current":2,"keys":{"1":"<b64>","2":"<b64>"}}` for
 *    rotation. The key file is then neither read nor created.
 * 2. `<dataDir>/master.key`, in either form; refused unless it is a regular file that
 *    group and others cannot access (like OpenSSH's private-key check).
 * 3. Otherwise a fresh key is written to `<dataDir>/master.key` with mode 0600, atomically
 *    (temp file, fsync, hard link that never clobbers, so concurrent starts agree on one key).
 *
 * Back the keyring up separately from the database: losing it loses every sealed credential.
 *
 * @example
 * ```ts
 * const keyring = await loadOrCreateKeyring({ dataDir: '/var/lib/pstorage', env: process.env })
 * const vault = createAesGcmVault({ keyring })
 * ```
 */
export async function loadOrCreateKeyring(options: LoadKeyringOptions): Promise<Keyring> {
  const fromEnv = options.env[MASTER_KEY_ENV]
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    const parsed = parseKeyring(fromEnv)
    if (typeof parsed === 'string') {
      throw keyError('internal_error', 'invalid_master_key', `${MASTER_KEY_ENV}: ${parsed}`)
    }
    return parsed
  }
  const path = join(options.dataDir, KEY_FILE_NAME)
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 })
  const existing = await readKeyFile(path)
  if (existing) return existing
  const keyring = createKeyring({ current: 1, keys: { 1: randomBytes(KEY_BYTES) } })
  if (await writeKeyFile(path, formatKeyring(keyring), false)) return keyring
  // Another process created the file between our read and our link: use its key.
  return (await readKeyFile(path))!
}

/**
 * Adds a fresh key to `<dataDir>/master.key` as version `max + 1` and makes it current; old
 * versions stay so existing values still open (re-seal them, then {@link retireKeyVersion}).
 * Run it with the server stopped: concurrent rotations would race. Keyrings supplied through
 * `PSTORAGE_MASTER_KEY` are rotated by editing the variable instead.
 *
 * @example
 * ```ts
 * const { current } = await rotateKeyFile('/var/lib/pstorage') // e.g. 2
 * ```
 */
export async function rotateKeyFile(dataDir: string): Promise<Keyring> {
  const path = join(dataDir, KEY_FILE_NAME)
  const keyring = await requireKeyFile(path)
  const version = Math.max(...keyring.keys.keys()) + 1
  const keys = new Map(keyring.keys).set(version, randomBytes(KEY_BYTES))
  const rotated = createKeyring({ current: version, keys })
  await writeKeyFile(path, formatKeyring(rotated), true)
  return rotated
}

/**
 * Removes an old key version from `<dataDir>/master.key` once nothing is sealed with it any
 * more. The current version cannot be retired; since rotation makes the highest version
 * current, a retired version number is never handed out again.
 *
 * @example
 * ```ts
 * await retireKeyVersion('/var/lib/pstorage', 1)
 * ```
 */
export async function retireKeyVersion(dataDir: string, version: number): Promise<Keyring> {
  const path = join(dataDir, KEY_FILE_NAME)
  const keyring = await requireKeyFile(path)
  if (version === keyring.current) {
    throw keyError('bad_request', 'retire_current', `key version ${version} is current`)
  }
  if (!keyring.keys.has(version)) {
    throw keyError('not_found', 'unknown_key_version', `key version ${version} not found`)
  }
  const keys = new Map(keyring.keys)
  keys.delete(version)
  const retired = createKeyring({ current: keyring.current, keys })
  await writeKeyFile(path, formatKeyring(retired), true)
  return retired
}

async function requireKeyFile(path: string): Promise<Keyring> {
  const keyring = await readKeyFile(path)
  if (!keyring) throw keyError('not_found', 'missing_key_file', `${path} does not exist`)
  return keyring
}

/** Reads and checks the key file; `undefined` if it does not exist. */
async function readKeyFile(path: string): Promise<Keyring | undefined> {
  let handle: FileHandle
  try {
    handle = await open(path, constants.O_RDONLY)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw keyError('internal_error', 'unreadable_key_file', `cannot open ${path}`, error)
  }
  try {
    // fstat on the open handle, not stat on the path: no window to swap the file in between.
    const stats = await handle.stat()
    if (!stats.isFile()) {
      throw keyError('internal_error', 'insecure_key_file', `${path} is not a regular file`)
    }
    // POSIX mode bits mean nothing on Windows, where ACLs protect the file instead.
    if (process.platform !== 'win32' && (stats.mode & 0o077) !== 0) {
      const mode = (stats.mode & 0o777).toString(8).padStart(4, '0')
      throw keyError(
        'internal_error',
        'insecure_key_file',
        `${path} is accessible by group or others (mode ${mode}); run: chmod 600 ${path}`,
      )
    }
    if (stats.size > MAX_KEY_FILE_BYTES) {
      throw keyError('data_corruption', 'corrupt_key_file', `${path} is too large to be a keyring`)
    }
    const parsed = parseKeyring(await handle.readFile('utf8'))
    if (typeof parsed === 'string') {
      throw keyError('data_corruption', 'corrupt_key_file', `${path} is corrupt: ${parsed}`)
    }
    return parsed
  } finally {
    await handle.close()
  }
}

/**
 * Writes `text` to `path` with mode 0600 so a crash never leaves a partial key: temp file,
 * fsync, then rename (`replace`) or hard link (which fails with EEXIST instead of clobbering
 * a key another process just created). Returns false if `!replace` and `path` already exists.
 */
async function writeKeyFile(path: string, text: string, replace: boolean): Promise<boolean> {
  const temp = `${path}.${randomBytes(8).toString('hex')}.tmp`
  // 'wx' = O_CREAT|O_EXCL: never follows a planted symlink, mode applies from the first byte.
  const handle = await open(temp, 'wx', 0o600)
  try {
    await handle.writeFile(text, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    if (replace) {
      await rename(temp, path)
    } else {
      try {
        await link(temp, path)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
        throw error
      }
    }
  } finally {
    await unlink(temp).catch(() => undefined)
  }
  await syncDirectory(dirname(path))
  return true
}

// Makes the new directory entry durable (POSIX: fsync on the file does not cover its name).
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY).catch(() => undefined)
  if (!handle) return
  await handle.sync().catch(() => undefined)
  await handle.close()
}

function keyError(
  code: 'internal_error' | 'data_corruption' | 'bad_request' | 'not_found',
  reason: string,
  message: string,
  cause?: unknown,
): PStorageError {
  return new PStorageError(code, `[pstorage] [key-file] ${message}`, { details: { reason }, cause })
}
