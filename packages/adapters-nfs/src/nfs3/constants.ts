/** The NFS program, version 3 (RFC 1813 §1.4). */
export const NFS_PROGRAM = 100003
export const NFS_V3 = 3
/** The MOUNT program, version 3 (RFC 1813 §5.0). */
export const MOUNT_PROGRAM = 100005
export const MOUNT_V3 = 3

/** NFSv3 procedure numbers (RFC 1813 §3.3). */
export const NFSPROC3 = Object.freeze({
  NULL: 0,
  GETATTR: 1,
  SETATTR: 2,
  LOOKUP: 3,
  ACCESS: 4,
  READLINK: 5,
  READ: 6,
  WRITE: 7,
  CREATE: 8,
  MKDIR: 9,
  SYMLINK: 10,
  MKNOD: 11,
  REMOVE: 12,
  RMDIR: 13,
  RENAME: 14,
  LINK: 15,
  READDIR: 16,
  READDIRPLUS: 17,
  FSSTAT: 18,
  FSINFO: 19,
  PATHCONF: 20,
  COMMIT: 21,
} as const)

/** MOUNT v3 procedure numbers (RFC 1813 §5.2). */
export const MOUNTPROC3 = Object.freeze({ NULL: 0, MNT: 1, DUMP: 2, UMNT: 3 } as const)

/** `ftype3` (RFC 1813 §2.5). */
export const FTYPE3 = Object.freeze({
  REG: 1,
  DIR: 2,
  BLK: 3,
  CHR: 4,
  LNK: 5,
  SOCK: 6,
  FIFO: 7,
} as const)

/** `stable_how` of WRITE (RFC 1813 §3.3.7). */
export const STABLE_HOW = Object.freeze({ UNSTABLE: 0, DATA_SYNC: 1, FILE_SYNC: 2 } as const)

/** `createmode3` of CREATE (RFC 1813 §3.3.8). */
export const CREATE_MODE = Object.freeze({ UNCHECKED: 0, GUARDED: 1, EXCLUSIVE: 2 } as const)

/** ACCESS3 bits (RFC 1813 §3.3.4). */
export const ACCESS3 = Object.freeze({
  READ: 0x1,
  LOOKUP: 0x2,
  MODIFY: 0x4,
  EXTEND: 0x8,
  DELETE: 0x10,
  EXECUTE: 0x20,
} as const)

/** `nfsstat3` values (RFC 1813 §2.6); mountstat3 (§5.1.5) reuses the same numbers. */
export const NFS3_STATUS: Readonly<Record<number, string>> = Object.freeze({
  0: 'NFS3_OK',
  1: 'NFS3ERR_PERM',
  2: 'NFS3ERR_NOENT',
  5: 'NFS3ERR_IO',
  6: 'NFS3ERR_NXIO',
  13: 'NFS3ERR_ACCES',
  17: 'NFS3ERR_EXIST',
  18: 'NFS3ERR_XDEV',
  19: 'NFS3ERR_NODEV',
  20: 'NFS3ERR_NOTDIR',
  21: 'NFS3ERR_ISDIR',
  22: 'NFS3ERR_INVAL',
  27: 'NFS3ERR_FBIG',
  28: 'NFS3ERR_NOSPC',
  30: 'NFS3ERR_ROFS',
  31: 'NFS3ERR_MLINK',
  63: 'NFS3ERR_NAMETOOLONG',
  66: 'NFS3ERR_NOTEMPTY',
  69: 'NFS3ERR_DQUOT',
  70: 'NFS3ERR_STALE',
  71: 'NFS3ERR_REMOTE',
  10001: 'NFS3ERR_BADHANDLE',
  10002: 'NFS3ERR_NOT_SYNC',
  10003: 'NFS3ERR_BAD_COOKIE',
  10004: 'NFS3ERR_NOTSUPP',
  10005: 'NFS3ERR_TOOSMALL',
  10006: 'NFS3ERR_SERVERFAULT',
  10007: 'NFS3ERR_BADTYPE',
  10008: 'NFS3ERR_JUKEBOX',
})

/** Named `nfsstat3` values the driver branches on. */
export const NFS3ERR = Object.freeze({
  PERM: 1,
  NOENT: 2,
  ACCES: 13,
  EXIST: 17,
  NOTDIR: 20,
  ISDIR: 21,
  INVAL: 22,
  NOTEMPTY: 66,
  STALE: 70,
  BADHANDLE: 10001,
  BAD_COOKIE: 10003,
  NOTSUPP: 10004,
  JUKEBOX: 10008,
} as const)

/** Largest file handle of NFSv3 (RFC 1813 §2.4, `NFS3_FHSIZE`). */
export const NFS3_FHSIZE = 64
/** Size of cookie, create and write verifiers (RFC 1813 §2.4). */
export const NFS3_VERFSIZE = 8
/** Longest export path of MNT (RFC 1813 §5.1.1, `MNTPATHLEN`). */
export const MNTPATHLEN = 1024
