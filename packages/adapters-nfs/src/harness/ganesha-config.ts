import { readFile } from 'node:fs/promises'

/**
 * The ganesha configuration of the tests. NFSv3 over TCP only, bound to loopback; NLM,
 * RQUOTA, UDP and NFSv4 recovery off or confined to the temp dir; no dbus (ganesha logs
 * that it cannot reach the system bus and carries on). Attribute and directory caching are
 * off so changes a test makes on the host directory are seen at once.
 *
 * @example
 * ```ts
 * await writeFile(conf, ganeshaConfig(dir, recovery, 20490, 20491))
 * ```
 */
export function ganeshaConfig(
  dir: string,
  recovery: string,
  port: number,
  mountPort: number,
): string {
  return `NFS_CORE_PARAM {
  NFS_Port = ${port};
  MNT_Port = ${mountPort};
  Enable_NLM = false;
  Enable_RQUOTA = false;
  Enable_UDP = false;
  Protocols = 3;
  Bind_addr = 127.0.0.1;
}
NFSV4 {
  Graceless = true;
  RecoveryRoot = "${recovery}";
}
MDCACHE {
  Dir_Chunk = 0;
}
EXPORT {
  Export_Id = 1;
  Path = "${dir}";
  Pseudo = "${dir}";
  Protocols = 3;
  Transports = TCP;
  Access_Type = RW;
  Squash = No_Root_Squash;
  SecType = sys;
  Attr_Expiration_Time = 0;
  FSAL {
    Name = VFS;
  }
}
`
}

// Complaints ganesha always logs here and that do not matter: no system dbus, no Kerberos.
const HARMLESS = /DBUS|dbus|krb5|keytab|gssd|principal nfs|RADOS/

/**
 * The serious lines of ganesha's log (CRIT, MAJ, FATAL) minus the harmless ones, else its
 * last lines: what a failure message should show.
 *
 * @example
 * ```ts
 * throw new Error(`ganesha exited:\n${await logProblems(logFile)}`)
 * ```
 */
export async function logProblems(logFile: string): Promise<string> {
  const lines = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n')
  const serious = lines.filter((l) => /:(CRIT|MAJ|FATAL) :/.test(l) && !HARMLESS.test(l))
  return (serious.length > 0 ? serious : lines).slice(-15).join('\n')
}

/** ganesha's log when a port was taken between probing and binding. */
export const PORT_TAKEN = /address already in use|cannot bind/i
/** ganesha's log when the VFS FSAL is missing: it starts, without the export. */
export const NO_VFS_FSAL = /Failed to load FSAL \(VFS\)|libfsalvfs\.so/i

/**
 * What to install or fix, guessed from ganesha's log.
 *
 * @example
 * ```ts
 * hint('Failed to load FSAL (VFS)') // ' (install the Debian package nfs-ganesha-vfs)'
 * ```
 */
export function hint(log: string): string {
  if (NO_VFS_FSAL.test(log)) return ' (install the Debian package nfs-ganesha-vfs)'
  if (PORT_TAKEN.test(log)) return ' (port taken)'
  return ''
}
