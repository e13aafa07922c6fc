import { backendError, toApiPath } from '@pstorage/core'
import { DRIVER_NAME } from '../driver-name.js'
import { NFS3ERR } from '../nfs3/constants.js'
import { hasNfsStatus } from '../nfs3/nfs-status-error.js'
import { assertReplaceable, lookupChild } from './namespace.js'
import type { NfsSession } from './session.js'

/** A name in a directory. */
export interface Place {
  readonly dir: Buffer
  readonly name: Buffer
}

/**
 * Gives the object `fh`, now at `from`, the name `to`. With `overwrite`: RENAME (atomic
 * replace, RFC 1813 §3.3.14). Without: LINK, which fails with NFS3ERR_EXIST instead of
 * clobbering, so of concurrent writers exactly one wins (§3.3.15); the caller then
 * removes `from` (`'linked'`). A server without LINK (NFS3ERR_NOTSUPP) gets
 * check-then-RENAME, where a writer landing between the check and the rename is replaced:
 * a documented race (NFSv3 has no RENAME_NOREPLACE).
 *
 * @example
 * ```ts
 * if ((await commitName(s, { dir, name: tmp }, tmpFh, { dir, name }, rel, false)) === 'linked')
 *   await s.nfs.remove(dir, tmp)
 * ```
 */
export async function commitName(
  s: NfsSession,
  from: Place,
  fh: Buffer,
  to: Place,
  rel: string,
  overwrite: boolean,
): Promise<'linked' | 'renamed'> {
  const conflict = (e: unknown): never => {
    // The target turned into a directory (or a file appeared) between check and commit.
    if (hasNfsStatus(e, NFS3ERR.EXIST, NFS3ERR.ISDIR, NFS3ERR.NOTDIR, NFS3ERR.NOTEMPTY))
      throw backendError(DRIVER_NAME, 'conflict', `${toApiPath(rel)} already exists`, { cause: e })
    throw e
  }
  if (!overwrite) {
    try {
      await s.nfs.link(fh, to.dir, to.name)
      return 'linked'
    } catch (error) {
      if (!hasNfsStatus(error, NFS3ERR.NOTSUPP)) conflict(error)
    }
  }
  assertReplaceable((await lookupChild(s, to.dir, to.name))?.attrs, rel, overwrite)
  await s.nfs.rename(from.dir, from.name, to.dir, to.name).catch(conflict)
  return 'renamed'
}
