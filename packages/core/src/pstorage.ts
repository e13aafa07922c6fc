import { hkdfSync, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import {
  ALLOW_PRIVATE_ADDRESSES_ENV,
  createAddressGuard,
  parseAllowPrivate,
} from './backends/address-guard.js'
import { type BackendService, createBackendService } from './backends/backend-service.js'
import { type BackendTypeHandlers, localBackendType } from './backends/backend-types.js'
import { createMemoryBlockEngine } from './engine/memory-block-engine.js'
import { createInProcessEventBus } from './events/in-process-event-bus.js'
import { createIdentity, type Identity, type IdentityOptions } from './identity/index.js'
import { createLunService, type LunService } from './luns/lun-service.js'
import { createMachineService, type MachineService } from './machines/machine-service.js'
import type { BlockEngine } from './ports/block-engine.js'
import { type Clock, systemClock } from './ports/clock.js'
import type { EventBus } from './ports/event-bus.js'
import { type IdGenerator, uuidGenerator } from './ports/id-generator.js'
import type { MetadataStore } from './ports/metadata-store.js'
import type { SecretVault } from './ports/secret-vault.js'
import {
  createAesGcmVault,
  createJwtService,
  createKeyring,
  createScryptHasher,
  type Keyring,
  loadOrCreateKeyring,
  MASTER_KEY_ENV,
  type PasswordHasher,
  parseKeyring,
} from './security/index.js'
import { type ClusterService, createClusterService } from './services/cluster-service.js'
import { createSnapshotService, type SnapshotService } from './services/snapshot-service.js'
import { createSystemService, type SystemService } from './services/system-service.js'
import { createVolumeService, type VolumeService } from './services/volume-service.js'
import { snapshotRepository, volumeRepository } from './store/repositories.js'
import { createSqliteStore } from './store/sqlite.js'

/** Options of {@link createPStorage}: every port has a default, any can be replaced. */
export interface PStorageOptions {
  /**
   * Directory of the embedded defaults (the SQLite file `pstorage.db`). Without it, and
   * without `store`, metadata lives in an in-memory SQLite database.
   */
  readonly dataDir?: string
  /** The metadata store. @default SQLite in `dataDir` (or in memory) */
  readonly store?: MetadataStore
  /**
   * The data path of volumes. @default the in-memory reference engine (nothing durable):
   * pass `createFlashEngine` from `@pstorage/engine` for real storage.
   */
  readonly engine?: BlockEngine
  /** @default the wall clock */
  readonly clock?: Clock
  /** @default random UUIDs */
  readonly ids?: IdGenerator
  /** @default an in-process bus */
  readonly events?: EventBus
  /** This node's id. @default 'node-1' */
  readonly nodeId?: string
  /**
   * Where `PSTORAGE_MASTER_KEY` is read from (the key-encryption key, kept outside the
   * database; without it, `<dataDir>/master.key`, created 0600). @default process.env
   */
  readonly env?: NodeJS.ProcessEnv
  /** @default scrypt at OWASP parameters */
  readonly hasher?: PasswordHasher
  /** Lockout and token lifetimes. */
  readonly identity?: IdentityOptions
  /**
   * How each backend type is reached, beyond the built-in `local`: pass the handlers of the
   * adapters packages (`s3BackendType` from `@pstorage/adapters-s3`…).
   */
  readonly backendTypes?: BackendTypeHandlers
  /**
   * Let backends reach loopback and private addresses (labs, tests, a NAS on the LAN).
   * @default `PSTORAGE_ALLOW_PRIVATE_ADDRESSES` from `env`, else false
   */
  readonly allowPrivateAddresses?: boolean
  /** Directories `local` backends must be inside. @default `<dataDir>/backends`, or none */
  readonly localBackendRoots?: readonly string[]
  /** Period of the backend health check; 0 turns it off. @default 60000 */
  readonly backendHealthCheckIntervalMs?: number
  /** Reversed domain of generated LUN IQNs (`iqn.2026-01.<domain>:<lun>`). @default 'local.pstorage' */
  readonly iqnDomain?: string
  /** Where failures of background work (health checks) are reported. @default ignored */
  readonly onBackgroundError?: (error: unknown) => void
}

/** What {@link createPStorage} returns: the services, and the ports they run on. */
export interface PStorage {
  readonly volumes: VolumeService
  readonly snapshots: SnapshotService
  readonly system: SystemService
  readonly cluster: ClusterService
  /** Storage backends and their file browser (seeds/000 §1–2). */
  readonly backends: BackendService
  /** iSCSI LUNs on the hosts of iscsi backends (seeds/000 §3). */
  readonly luns: LunService
  /** The machines registry (seeds/003): the nodes LUNs are assigned to. */
  readonly machines: MachineService
  readonly engine: BlockEngine
  readonly store: MetadataStore
  readonly events: EventBus
  /** Users, tokens, API keys and the audit log. */
  readonly identity: Identity
  /** Encrypts secrets at rest with the master key. */
  readonly vault: SecretVault
  /** Closes the engine and the store; idempotent. */
  close(): Promise<void>
}

/**
 * The front door of the SDK: wires port implementations into the services and migrates
 * the metadata store. Every host (the Hono server, a Node program) starts here.
 *
 * @example
 * ```ts
 * const pstorage = await createPStorage({ dataDir: './data' })
 * const volume = await pstorage.volumes.create({ name: 'db', size_gb: 10 })
 * await pstorage.close()
 * ```
 */
export async function createPStorage(options: PStorageOptions = {}): Promise<PStorage> {
  const clock = options.clock ?? systemClock
  const store =
    options.store ??
    createSqliteStore({
      filename: options.dataDir ? join(options.dataDir, 'pstorage.db') : ':memory:',
    })
  await store.migrate()
  const engine = options.engine ?? createMemoryBlockEngine()
  const events = options.events ?? createInProcessEventBus({ clock })
  const volumes = volumeRepository(store.db)
  const snapshots = snapshotRepository(store.db)
  const deps = { engine, volumes, snapshots, clock, ids: options.ids ?? uuidGenerator, events }
  const nodeId = options.nodeId ?? 'node-1'
  const keyring = options.dataDir
    ? await loadOrCreateKeyring({ dataDir: options.dataDir, env: options.env ?? process.env })
    : ephemeralKeyring(options.env ?? process.env)
  const identity = createIdentity({
    db: store.db,
    clock,
    ids: deps.ids,
    hasher: options.hasher ?? createScryptHasher(),
    jwt: createJwtService({
      secret: jwtKey(keyring),
      issuer: 'pstorage',
      audience: 'pstorage-api',
      clock,
    }),
    ...(options.identity && { options: options.identity }),
  })
  const env = options.env ?? process.env
  const vault = createAesGcmVault({ keyring })
  const backends = createBackendService({
    db: store.db,
    vault,
    clock,
    ids: deps.ids,
    guard: createAddressGuard({
      allowPrivate:
        options.allowPrivateAddresses ?? parseAllowPrivate(env[ALLOW_PRIVATE_ADDRESSES_ENV], false),
    }),
    handlers: { local: localBackendType, ...options.backendTypes },
    localRoots:
      options.localBackendRoots ?? (options.dataDir ? [join(options.dataDir, 'backends')] : []),
    ...(options.onBackgroundError && { onBackgroundError: options.onBackgroundError }),
  })
  backends.startHealthChecks(options.backendHealthCheckIntervalMs ?? 60_000)
  const luns = createLunService({
    db: store.db,
    vault,
    clock,
    ids: deps.ids,
    backends,
    ...(options.iqnDomain && { iqnDomain: options.iqnDomain }),
    ...(options.onBackgroundError && { onBackgroundError: options.onBackgroundError }),
  })
  // Jobs a stop interrupted (LUNs left `creating` or `deleting`) run again now.
  await luns.resume()
  let closing: Promise<void> | undefined
  return Object.freeze({
    volumes: createVolumeService(deps),
    snapshots: createSnapshotService(deps),
    system: createSystemService({
      engine,
      store,
      volumes,
      snapshots,
      nodeId,
      clock,
      ...(options.dataDir && { dataDir: options.dataDir }),
    }),
    cluster: createClusterService({ db: store.db, clock, nodeId }),
    backends,
    luns,
    machines: createMachineService({ db: store.db, clock, ids: deps.ids }),
    engine,
    store,
    events,
    identity,
    vault,
    close() {
      closing ??= luns
        .close()
        .then(() => backends.close())
        .then(() => Promise.all([engine.close(), store.close()]))
        .then(() => undefined)
      return closing
    },
  })
}

/** Without a data directory nothing persists, so a random key serves (unless one is given). */
function ephemeralKeyring(env: NodeJS.ProcessEnv): Keyring {
  const given = env[MASTER_KEY_ENV]?.trim()
  if (!given) return createKeyring({ current: 1, keys: { 1: randomBytes(32) } })
  const parsed = parseKeyring(given)
  if (typeof parsed === 'string') throw new Error(`[pstorage] ${MASTER_KEY_ENV}: ${parsed}`)
  return parsed
}

/**
 * The JWT signing key, derived from the current master key (HKDF-SHA256, RFC 5869) so no
 * second secret needs storing; rotating the master key ends every session, by design.
 */
function jwtKey(keyring: Keyring): Uint8Array {
  const master = keyring.keys.get(keyring.current)!
  return new Uint8Array(hkdfSync('sha256', master, 'pstorage', 'pstorage/jwt/v1', 32))
}
