/**
 * The ports of iSCSI target hosts: {@link CommandRunner} (how commands reach a host) and
 * {@link TargetDriver} (what a target manager, tgt or targetcli, does with them).
 *
 * Types only: adapters (`@pstorage/adapters-iscsi`) implement them, and
 * `runTargetDriverSuite` from `@pstorage/core/testing` asserts the contract below.
 */

/** Options of one {@link CommandRunner.run}. */
export interface CommandRunOptions {
  /** Written to the command's standard input, which is then closed. @default empty input */
  readonly stdin?: string
  /** Kill the command and reject with `service_unavailable` past this. @default the runner's */
  readonly timeoutMs?: number
  /**
   * Whether the command needs root: a runner configured to use sudo runs it as
   * `sudo -n -- argv…`; `false` runs it as the login user (harmless probes such as `df`).
   * @default true
   */
  readonly sudo?: boolean
}

/** How one command ended. A non-zero `code` is a result, not an error. */
export interface CommandResult {
  /** Exit status; `128 + n` when killed by signal `n` (as shells report it). */
  readonly code: number
  /** Standard output, UTF-8 decoded. */
  readonly stdout: string
  /** Standard error, UTF-8 decoded. */
  readonly stderr: string
}

/**
 * Runs commands on a host, as argv arrays: never a shell string at this level.
 *
 * Contract:
 * - `argv[0]` is the program; the program receives exactly `argv` (a runner that goes
 *   through a remote shell quotes every element: security.md, "Command injection over SSH").
 *   An empty argv or an element containing NUL is a `bad_request` and nothing runs.
 * - Resolves for any exit status; rejects only when the command could not run or finish:
 *   connection, authentication, host-key or timeout problems → `service_unavailable`;
 *   output beyond the runner's cap → `internal_error` (the command is killed).
 * - Errors never contain a secret (passwords, keys, `stdin`) nor the full command line.
 * - After `close` every `run` rejects with `service_unavailable`; `close` is idempotent.
 *
 * @example
 * ```ts
 * const { code, stdout } = await runner.run(['tgtadm', '--version'], { sudo: false })
 * ```
 */
export interface CommandRunner {
  /** Where commands run, for messages: `ssh://pstorage@192.0.2.10:22` or `local`. */
  readonly target: string
  /** Runs `argv` and collects its output. */
  run(argv: readonly string[], options?: CommandRunOptions): Promise<CommandResult>
  /** Releases the connection; later runs reject. */
  close(): Promise<void>
}

/** An iSCSI portal: where initiators connect (RFC 7143 §4.4.2). */
export interface PortalAddress {
  /** An IPv4 or IPv6 address of the target host, or `0.0.0.0` / `::` for all of them. */
  readonly address: string
  /** TCP port, 1..65535 (the iSCSI default is 3260). */
  readonly port: number
}

/** Input of {@link TargetDriver.createLun}. */
export interface CreateLunInput {
  /** LUN name, `^[a-z0-9][a-z0-9_-]{0,63}$` (the targetcli backstore name). */
  readonly name: string
  /** Target IQN (`generateIqn`), stored lowercase; one target per LUN. */
  readonly iqn: string
  /** Size of the backing file: a positive multiple of 512. */
  readonly sizeBytes: number
  /** File name inside the driver's backing directory (`vol1.img`): never a path. */
  readonly backingFile: string
  /** The portal the target listens on. */
  readonly portal: PortalAddress
}

/** Input of {@link TargetDriver.deleteLun}. */
export interface DeleteLunInput {
  readonly iqn: string
  /** The backing file the target serves; it is removed too. */
  readonly backingFile: string
}

/** Input of {@link TargetDriver.setChap}: one-way CHAP, the initiator proves itself. */
export interface SetChapInput {
  readonly iqn: string
  /** CHAP user name (`assertChapUser`). */
  readonly userid: string
  /** CHAP secret: 12–16 characters of the policy (`generateChapSecret`). */
  readonly secret: string
}

/** Input of {@link TargetDriver.allowInitiator} and {@link TargetDriver.denyInitiator}. */
export interface InitiatorInput {
  /** Target IQN. */
  readonly iqn: string
  /** Initiator name (`iqn.` or `eui.`), stored lowercase. */
  readonly initiatorIqn: string
}

/** One logical unit of a target, as found on the host. */
export interface TargetLunState {
  /** LUN number as initiators see it (tgt: 1, LUN 0 being its controller; LIO: 0). */
  readonly lun: number
  /** Absolute path of the backing store on the host. */
  readonly backingPath: string
  /** File name when the backing store is directly inside the backing directory, else `null`. */
  readonly backingFile: string | null
  /** Bytes of the backing store, or `null` when it cannot be read (missing file). */
  readonly sizeBytes: number | null
}

/** One target as found on the host: what {@link TargetDriver.list} reports. */
export interface TargetState {
  /** Target IQN, lowercase. */
  readonly iqn: string
  /** The LUN name where the target manager keeps one (targetcli backstore), else `null`. */
  readonly name: string | null
  /** Logical units, by LUN number (tgt's controller LUN 0 is not listed). */
  readonly luns: readonly TargetLunState[]
  /** Portals initiators can reach the target on. tgt portals are host-wide. */
  readonly portals: readonly PortalAddress[]
  /** Initiator names allowed to log in, sorted. */
  readonly initiators: readonly string[]
  /**
   * Address-based ACLs (tgt `--initiator-address`, `ALL` opening the target to anyone).
   * PStorage never creates them: a non-empty list is drift worth reporting.
   */
  readonly initiatorAddresses: readonly string[]
  /** The one-way CHAP user required at login, or `null` when CHAP is off. Never the secret. */
  readonly chapUser: string | null
}

/** What {@link TargetDriver.probe} learned about the host, for the connection test. */
export interface TargetHostProbe {
  /** The driver's name (`tgt`, `targetcli`). */
  readonly manager: string
  /** Version of the target manager (`1.0.85`, `2.1.53`). */
  readonly version: string
  /** The backing directory probed. */
  readonly backingDir: string
  /** Bytes available to new backing files in `backingDir`. */
  readonly freeBytes: number
  /** Size of the file system holding `backingDir`. */
  readonly totalBytes: number
}

/**
 * A target manager on a Linux target host (tgt's `tgtadm`, LIO's `targetcli`), driven
 * through a {@link CommandRunner}: one iSCSI target per LUN, backed by a sparse file in the
 * driver's backing directory.
 *
 * Contract (asserted by `runTargetDriverSuite` from `@pstorage/core/testing`):
 * - Validation first: every name, IQN, path, size, portal and CHAP value is checked against
 *   the allow-lists of `@pstorage/core` (`normalizeIqn`, `assertLunName`,
 *   `assertBackingFileName`, `assertChapUser`, `assertChapSecret`) before any command runs;
 *   a refused value is a `bad_request` and the host is untouched. IQNs compare lowercase.
 * - Idempotent: repeating a call with the same input succeeds and changes nothing
 *   (`createLun` of an existing target with the same backing file and size, `allowInitiator`
 *   of an allowed initiator, `denyInitiator` of an absent one, `clearChap` without CHAP,
 *   `deleteLun` of a deleted LUN, which still removes a leftover backing file).
 *   A different existing definition is a `conflict` and nothing changes: the IQN served from
 *   another file or size, the backing file (or targetcli backstore name) used by another
 *   target, or a backing file that exists with another size or is not a regular file.
 * - Missing targets: `setChap`, `clearChap`, `allowInitiator`, `denyInitiator` of an unknown
 *   IQN → `not_found`; of a target PStorage does not manage (its LUN outside the backing
 *   directory) → `conflict`, so an admin's own configuration is never rewritten.
 * - Access: a new target admits no initiator until `allowInitiator`; once CHAP is set, only
 *   allowed initiators presenting the CHAP user and secret log in. `setChap` replaces any
 *   previous credentials of the target. A CHAP user belongs to one target (tgt accounts are
 *   host-wide): a user bound to another target → `conflict`.
 * - Read-after-write: once a method resolves, `list` shows its effect. `list` reports every
 *   target on the host, PStorage's or not (drift detection), sorted by IQN, and never a
 *   secret.
 * - Persistence: every mutating method persists the host's configuration before resolving,
 *   so its effect survives a reboot of the target host; `save` persists everything again
 *   (after manual changes, or to repair the saved configuration).
 * - Deleting a target drops its sessions; the caller asks for confirmation first.
 * - Errors are `PStorageError`s worded `[pstorage] [<driver>] …` with the native failure as
 *   `cause`; `details` may carry the redacted command, its exit code and the first lines of
 *   its stderr, never a secret. An unreachable host → `service_unavailable`. After `close`
 *   every method rejects with `service_unavailable`; `close` is idempotent.
 *
 * @example
 * ```ts
 * const iqn = generateIqn({ createdAt: new Date(), name: 'vol1' })
 * await driver.createLun({ name: 'vol1', iqn, sizeBytes: 10 * 2 ** 30,
 *   backingFile: 'vol1.img', portal: { address: '192.0.2.10', port: 3260 } })
 * await driver.allowInitiator({ iqn, initiatorIqn: 'iqn.1993-08.org.debian:01:node1' })
 * await driver.setChap({ iqn, userid: 'node1', secret: generateChapSecret() })
 * ```
 */
export interface TargetDriver {
  /** The driver type (`tgt`, `targetcli`), its `DRIVER_NAME`. */
  readonly name: string
  /** Tool version and free space of the backing directory, for the connection test. */
  probe(): Promise<TargetHostProbe>
  /** Creates the sparse backing file, the target, its LUN and portal; returns the target. */
  createLun(input: CreateLunInput): Promise<TargetState>
  /** Deletes the target and its backing file. */
  deleteLun(input: DeleteLunInput): Promise<void>
  /** Requires one-way CHAP with these credentials at login to the target. */
  setChap(input: SetChapInput): Promise<void>
  /** Stops requiring CHAP at login to the target. */
  clearChap(input: { readonly iqn: string }): Promise<void>
  /** Lets an initiator log in to the target. */
  allowInitiator(input: InitiatorInput): Promise<void>
  /** Stops an initiator from logging in to the target (existing sessions stay). */
  denyInitiator(input: InitiatorInput): Promise<void>
  /** Every target on the host, sorted by IQN. */
  list(): Promise<TargetState[]>
  /** Persists the whole configuration of the host again. */
  save(): Promise<void>
  /** Releases the runner; later calls reject. */
  close(): Promise<void>
}
