import { mkdir, realpath } from 'node:fs/promises'
import { isAbsolute, relative, resolve } from 'node:path'
import { PStorageError } from '../errors.js'
import type { BackendDriver, ConnectionTestResult } from '../ports/backend-driver.js'
import type { TargetDriver } from '../ports/target-driver.js'
import type { BackendConfigs, BackendType } from '../schemas/backend.js'
import type { AddressGuard } from './address-guard.js'
import { createLocalDriver } from './local-driver.js'

/** What a backend type's handler gets besides the config. */
export interface BackendContext {
  /** The backend's id (for logs and per-backend state). */
  readonly id: string
  /** Checks hosts against the private-address policy: call it before every connection. */
  readonly guard: AddressGuard
  /** Directories a `local` backend's path must be inside. */
  readonly localRoots: readonly string[]
}

/**
 * How PStorage reaches one type of backend: a file driver for the file browser, and/or a
 * connection test for types without one (iSCSI is block storage). The adapters packages
 * export one per type (`s3BackendType` from `@pstorage/adapters-s3`…); `createPStorage`
 * takes them in `backendTypes`. `config` arrives validated, with its secrets opened.
 */
export interface BackendTypeHandler<T extends BackendType = BackendType> {
  /** Checks a config beyond its schema before it is stored (hosts, paths). */
  validate?(config: BackendConfigs[T], ctx: BackendContext): Promise<void>
  /** Opens a file driver. Absent: the file browser answers `not_applicable`. */
  open?(config: BackendConfigs[T], ctx: BackendContext): Promise<BackendDriver>
  /** The connection test when there is no file driver. */
  test?(config: BackendConfigs[T], ctx: BackendContext): Promise<ConnectionTestResult>
  /** Opens the target manager of a block backend (iSCSI): what LUNs are managed with. */
  openTarget?(config: BackendConfigs[T], ctx: BackendContext): Promise<TargetDriver>
}

/** A handler per backend type; types without one can be stored but not reached. */
export type BackendTypeHandlers = { readonly [T in BackendType]?: BackendTypeHandler<T> }

/**
 * Resolves a `local` backend path inside one of `roots`, creating it if missing. Symlinks
 * are resolved first, so a link inside a root pointing outside it is refused too.
 */
export async function resolveLocalBackendPath(
  path: string,
  roots: readonly string[],
): Promise<string> {
  const refuse = () =>
    new PStorageError(
      'forbidden',
      roots.length === 0
        ? 'Local backends are disabled: no local backend root is configured'
        : `Local backend paths must be inside ${roots.join(', ')}`,
    )
  if (!isAbsolute(path)) throw refuse()
  const inside = (root: string, p: string) => {
    const rel = relative(root, p)
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
  }
  const lexical = resolve(path)
  const candidates = roots.filter((root) => inside(resolve(root), lexical))
  if (candidates.length === 0) throw refuse()
  for (const root of candidates) await mkdir(root, { recursive: true })
  await mkdir(lexical, { recursive: true })
  const real = await realpath(lexical)
  for (const root of candidates) if (inside(await realpath(root), real)) return real
  throw refuse()
}

/** The built-in `local` type: a directory on the server, confined to the local roots. */
export const localBackendType: BackendTypeHandler<'local'> = Object.freeze({
  async validate(config: BackendConfigs['local'], ctx: BackendContext) {
    await resolveLocalBackendPath(config.path, ctx.localRoots)
  },
  async open(config: BackendConfigs['local'], ctx: BackendContext) {
    return createLocalDriver({ root: await resolveLocalBackendPath(config.path, ctx.localRoots) })
  },
})

/** The hosts a config makes PStorage connect to, for the address guard. */
export function hostsOf<T extends BackendType>(type: T, config: BackendConfigs[T]): string[] {
  switch (type) {
    case 'nfs':
      return [(config as BackendConfigs['nfs']).server]
    case 's3': {
      const endpoint = (config as BackendConfigs['s3']).endpoint
      return endpoint ? [new URL(endpoint).hostname] : []
    }
    case 'http':
      return [new URL((config as BackendConfigs['http']).url).hostname]
    case 'iscsi':
      return [(config as BackendConfigs['iscsi']).host]
    default:
      return []
  }
}
