import type { Kysely } from 'kysely'
import { isPStorageError, notFound, PStorageError } from '../errors.js'
import type {
  BackendDriver,
  BackendStats,
  ConnectionTestResult,
  DeleteResult,
  ReadOptions,
  ReadResult,
  StorageFile,
} from '../ports/backend-driver.js'
import type { Clock } from '../ports/clock.js'
import type { IdGenerator } from '../ports/id-generator.js'
import type { SecretVault } from '../ports/secret-vault.js'
import type { TargetDriver } from '../ports/target-driver.js'
import {
  BACKEND_CONFIG_SCHEMAS,
  BACKEND_SECRET_FIELDS,
  type BackendConfigs,
  type BackendList,
  type BackendStatsDoc,
  type BackendStatus,
  type BackendType,
  type ConnectionTest,
  CreateBackendRequestSchema,
  type FileList,
  ListBackendsQuerySchema,
  MoveFilesRequestSchema,
  SECRET_MASK,
  type StorageBackend,
  UpdateBackendRequestSchema,
  type UploadPolicy,
  UploadPolicySchema,
} from '../schemas/backend.js'
import { parseInput, parseListQuery } from '../services/validate.js'
import type { Database, StorageBackendRow } from '../store/database.js'
import { page, uniqueViolationToConflict } from '../store/repositories.js'
import type { AddressGuard } from './address-guard.js'
import {
  type BackendContext,
  type BackendTypeHandler,
  type BackendTypeHandlers,
  hostsOf,
} from './backend-types.js'
import { requireOp } from './driver-kit.js'
import { baseName, normalizeBackendPath, toApiPath } from './path.js'
import { enforceUploadPolicy } from './upload-policy.js'

/** What {@link createBackendService} needs. */
export interface BackendServiceDeps {
  readonly db: Kysely<Database>
  readonly vault: SecretVault
  readonly clock: Clock
  readonly ids: IdGenerator
  readonly guard: AddressGuard
  readonly handlers: BackendTypeHandlers
  /** Directories `local` backends must be inside. */
  readonly localRoots: readonly string[]
  /** A connection test slower than this fails. @default 15000 */
  readonly testTimeoutMs?: number
  /** Stats older than this are recomputed by the health check. @default 300000 */
  readonly statsMaxAgeMs?: number
  /** Where failures of background work go (health checks, stats). @default ignored */
  readonly onBackgroundError?: (error: unknown) => void
}

/** One move of `POST .../files/move`, in request order. */
export interface MoveResult {
  readonly path: string
  readonly to: string | null
  readonly moved: boolean
  readonly error?: { readonly code: string; readonly detail: string }
  readonly file?: StorageFile
}

const SECRET_CONTEXT = (id: string, field: string) => `backend:${id}|${field}`
const EMPTY_STATS: BackendStatsDoc = Object.freeze({
  used_bytes: 0,
  total_bytes: null,
  file_count: 0,
  template_count: 0,
  truncated: false,
  updated_at: null,
})

function parseJson<T>(text: string): T {
  return JSON.parse(text) as T
}

/**
 * Storage backends (seeds/000 §1) and their file browser (§2): CRUD with configs validated
 * per type and secrets sealed in the vault (masked in every answer), connection tests that
 * never throw for connectivity, a health check that keeps `status` fresh, stats computed by
 * the drivers and cached, and the file operations of each backend's driver, with the upload
 * policy enforced while bytes stream. Drivers are opened once per backend version and
 * closed when the backend changes or goes.
 *
 * @example
 * ```ts
 * const b = await pstorage.backends.create({ name: 'iso', type: 'local', config: { path } })
 * const { items } = await pstorage.backends.listFiles(b.id, { path: '/' })
 * ```
 */
export function createBackendService(deps: BackendServiceDeps) {
  const { db, vault, clock, ids, guard, handlers } = deps
  const testTimeoutMs = deps.testTimeoutMs ?? 15_000
  const statsMaxAgeMs = deps.statsMaxAgeMs ?? 300_000
  const onBackgroundError = deps.onBackgroundError ?? (() => {})
  const drivers = new Map<string, { version: string; driver: Promise<BackendDriver> }>()
  const targets = new Map<string, { version: string; driver: Promise<TargetDriver> }>()
  const background = new Set<Promise<unknown>>()
  const staleStats = new Map<string, ReturnType<typeof setTimeout>>()
  let timer: ReturnType<typeof setInterval> | undefined
  let closed = false

  const now = () => clock.now().toISOString()
  const find = (id: string) =>
    db.selectFrom('storage_backends').selectAll().where('id', '=', id).executeTakeFirst()
  const load = async (id: string): Promise<StorageBackendRow> => {
    const row = await find(id)
    if (!row) throw notFound('Storage backend', id)
    return row
  }
  const track = (work: Promise<unknown>) => {
    const p = work.catch(onBackgroundError).finally(() => background.delete(p))
    background.add(p)
  }
  const ctxOf = (id: string): BackendContext => ({ id, guard, localRoots: deps.localRoots })
  const handlerOf = (type: BackendType) =>
    handlers[type] as BackendTypeHandler<BackendType> | undefined

  /** The row's config with its secrets opened: what handlers get. */
  async function fullConfig(row: StorageBackendRow): Promise<Record<string, unknown>> {
    const config = parseJson<Record<string, unknown>>(row.config)
    const sealed = parseJson<Record<string, string>>(row.secrets)
    for (const [field, value] of Object.entries(sealed)) {
      config[field] = await vault.open(value, SECRET_CONTEXT(row.id, field))
    }
    return config
  }

  async function split(
    id: string,
    type: BackendType,
    config: Record<string, unknown>,
  ): Promise<{ plain: Record<string, unknown>; secrets: Record<string, string> }> {
    const plain: Record<string, unknown> = {}
    const secrets: Record<string, string> = {}
    for (const [field, value] of Object.entries(config)) {
      if (value === undefined) continue
      if (BACKEND_SECRET_FIELDS[type].includes(field)) {
        secrets[field] = await vault.seal(String(value), SECRET_CONTEXT(id, field))
      } else plain[field] = value
    }
    return { plain, secrets }
  }

  function toDoc(row: StorageBackendRow): StorageBackend {
    const config = parseJson<Record<string, unknown>>(row.config)
    for (const field of Object.keys(parseJson<Record<string, string>>(row.secrets))) {
      config[field] = SECRET_MASK
    }
    const stats = row.stats ? parseJson<BackendStatsDoc>(row.stats) : EMPTY_STATS
    return {
      id: row.id,
      name: row.name,
      type: row.type as BackendType,
      status: row.status as BackendStatus,
      status_message: row.status_message,
      config,
      stats: { ...stats, updated_at: row.stats_updated_at },
      upload_policy: parseJson<UploadPolicy>(row.upload_policy),
      last_checked_at: row.last_checked_at,
      created_at: row.created_at,
      updated_at: row.updated_at,
    }
  }

  async function validateConfig(id: string, type: BackendType, config: unknown) {
    const parsed = parseInput(BACKEND_CONFIG_SCHEMAS[type], config, `${type} config`) as Record<
      string,
      unknown
    >
    for (const host of hostsOf(type, parsed as BackendConfigs[typeof type])) {
      await guard.check(host)
    }
    await handlerOf(type)?.validate?.(parsed as never, ctxOf(id))
    return parsed
  }

  async function closeDriver(id: string): Promise<void> {
    const open = drivers.get(id)
    const target = targets.get(id)
    drivers.delete(id)
    targets.delete(id)
    if (open) await open.driver.then((d) => d.close()).catch(() => {})
    if (target) await target.driver.then((d) => d.close()).catch(() => {})
  }

  /** The open target manager of an iSCSI backend (opened on first use). */
  async function targetOf(row: StorageBackendRow): Promise<TargetDriver> {
    if (closed) throw new PStorageError('service_unavailable', 'PStorage is closing')
    const handler = handlerOf(row.type as BackendType)
    if (row.type !== 'iscsi') {
      throw new PStorageError('bad_request', `Backend ${row.name} is not an iscsi backend`)
    }
    if (!handler?.openTarget) {
      throw new PStorageError(
        'service_unavailable',
        'No driver for iscsi backends is installed in this PStorage',
      )
    }
    const cached = targets.get(row.id)
    if (cached?.version === row.updated_at) return cached.driver
    if (cached) await closeDriver(row.id)
    const driver = fullConfig(row).then((config) =>
      handler.openTarget!(config as never, ctxOf(row.id)),
    )
    targets.set(row.id, { version: row.updated_at, driver })
    driver.catch(() => {
      if (targets.get(row.id)?.driver === driver) targets.delete(row.id)
    })
    return driver
  }

  /** The open driver of a backend (opened on first use, reopened after an update). */
  async function driverOf(row: StorageBackendRow): Promise<BackendDriver> {
    if (closed) throw new PStorageError('service_unavailable', 'PStorage is closing')
    const handler = handlerOf(row.type as BackendType)
    if (!handler?.open) {
      if (row.type === 'iscsi' || handler?.test) {
        throw new PStorageError(
          'not_applicable',
          `Backend ${row.name} is ${row.type} block storage: it has no files to browse`,
        )
      }
      throw new PStorageError(
        'service_unavailable',
        `No driver for ${row.type} backends is installed in this PStorage`,
      )
    }
    const cached = drivers.get(row.id)
    if (cached?.version === row.updated_at) return cached.driver
    if (cached) await closeDriver(row.id)
    const driver = fullConfig(row).then((config) => handler.open!(config as never, ctxOf(row.id)))
    drivers.set(row.id, { version: row.updated_at, driver })
    driver.catch(() => {
      if (drivers.get(row.id)?.driver === driver) drivers.delete(row.id)
    })
    return driver
  }

  const statusOf = (result: ConnectionTestResult): BackendStatus =>
    result.ok ? 'online' : result.details?.status === 'error' ? 'error' : 'offline'

  async function runTest(row: StorageBackendRow): Promise<ConnectionTest> {
    const started = performance.now()
    let result: ConnectionTestResult
    let status: BackendStatus
    try {
      const handler = handlerOf(row.type as BackendType)
      const attempt = (async (): Promise<ConnectionTestResult> => {
        if (handler?.test) return handler.test((await fullConfig(row)) as never, ctxOf(row.id))
        if (handler?.open) return (await driverOf(row)).test()
        throw new PStorageError(
          'service_unavailable',
          `No driver for ${row.type} backends is installed in this PStorage`,
        )
      })()
      let timeout: ReturnType<typeof setTimeout> | undefined
      result = await Promise.race([
        attempt,
        new Promise<ConnectionTestResult>((resolve) => {
          timeout = setTimeout(
            () =>
              resolve({
                ok: false,
                latency_ms: testTimeoutMs,
                message: `No answer within ${testTimeoutMs} ms`,
              }),
            testTimeoutMs,
          )
        }),
      ]).finally(() => clearTimeout(timeout))
      status = statusOf(result)
    } catch (error) {
      // A driver that cannot even be opened (no driver installed, refused address, bad
      // config): the answer says why; only PStorage's own messages reach the client.
      const message = isPStorageError(error) ? error.detail : 'The driver could not be opened'
      result = {
        ok: false,
        latency_ms: Math.round((performance.now() - started) * 10) / 10,
        message,
        details: { status: 'error', ...(isPStorageError(error) && { code: error.code }) },
      }
      status = 'error'
      if (!isPStorageError(error)) onBackgroundError(error)
    }
    const tested_at = now()
    await db
      .updateTable('storage_backends')
      .set({
        status,
        status_message: result.ok ? null : result.message,
        last_checked_at: tested_at,
      })
      .where('id', '=', row.id)
      .execute()
    return {
      ok: result.ok,
      latency_ms: result.latency_ms,
      message: result.message,
      ...(result.details && { details: result.details }),
      status,
      tested_at,
    }
  }

  async function computeStats(row: StorageBackendRow): Promise<BackendStatsDoc> {
    const driver = await driverOf(row)
    const stats: BackendStats = await requireOp(driver, 'stats')()
    const doc: BackendStatsDoc = {
      used_bytes: stats.used_bytes,
      total_bytes: stats.total_bytes ?? null,
      file_count: stats.file_count,
      template_count: stats.template_count,
      truncated: stats.truncated ?? false,
      updated_at: now(),
    }
    await db
      .updateTable('storage_backends')
      .set({ stats: JSON.stringify(doc), stats_updated_at: doc.updated_at })
      .where('id', '=', row.id)
      .where('updated_at', '=', row.updated_at)
      .execute()
    return doc
  }

  /** After a change through the file browser, stats are recomputed shortly after. */
  function statsChanged(id: string): void {
    if (closed) return
    clearTimeout(staleStats.get(id))
    const t = setTimeout(() => {
      staleStats.delete(id)
      track(find(id).then((row) => (row ? computeStats(row) : undefined)))
    }, 1_000)
    t.unref?.()
    staleStats.set(id, t)
  }

  const fileRow = async (id: string) => {
    const row = await load(id)
    return { row, driver: await driverOf(row) }
  }

  return Object.freeze({
    /** `GET /storage/backends`: one page, with the total. */
    async list(query?: unknown): Promise<BackendList> {
      const { type, status, ...rest } = parseInput(ListBackendsQuerySchema, query ?? {}, 'query')
      const parsed = parseListQuery(ListBackendsQuerySchema, rest)
      let base = db.selectFrom('storage_backends')
      if (type) base = base.where('type', '=', type)
      if (status) base = base.where('status', '=', status)
      const { rows, total } = await page<Database, 'storage_backends', StorageBackendRow>(
        base as never,
        parsed,
        'created_at',
      )
      return { backends: rows.map(toDoc), total }
    },

    /** `GET /storage/backends/{id}`. */
    async get(id: string): Promise<StorageBackend> {
      return toDoc(await load(id))
    },

    /** `POST /storage/backends`; the first connection test runs in the background. */
    async create(input: unknown): Promise<StorageBackend> {
      const request = parseInput(CreateBackendRequestSchema, input)
      const id = ids.next()
      const config = await validateConfig(id, request.type, request.config)
      const { plain, secrets } = await split(id, request.type, config)
      const at = now()
      const row: StorageBackendRow = {
        id,
        name: request.name,
        type: request.type,
        status: 'offline',
        status_message: 'Not checked yet',
        config: JSON.stringify(plain),
        secrets: JSON.stringify(secrets),
        upload_policy: JSON.stringify(request.upload_policy ?? UploadPolicySchema.parse({})),
        stats: null,
        stats_updated_at: null,
        last_checked_at: null,
        created_at: at,
        updated_at: at,
      }
      await db
        .insertInto('storage_backends')
        .values(row)
        .execute()
        .catch((error: unknown) =>
          uniqueViolationToConflict(error, `A storage backend named '${request.name}' exists`),
        )
      track(this.check(id))
      return toDoc(row)
    },

    /** `PATCH /storage/backends/{id}`: merges config; a masked or absent secret is kept. */
    async update(id: string, input: unknown): Promise<StorageBackend> {
      const request = parseInput(UpdateBackendRequestSchema, input)
      const row = await load(id)
      const type = row.type as BackendType
      const changes: Partial<StorageBackendRow> = {}
      if (request.name !== undefined) changes.name = request.name
      if (request.upload_policy) changes.upload_policy = JSON.stringify(request.upload_policy)
      if (request.config) {
        const current = await fullConfig(row)
        const merged: Record<string, unknown> = { ...current }
        for (const [field, value] of Object.entries(request.config)) {
          if (value === SECRET_MASK && BACKEND_SECRET_FIELDS[type].includes(field)) continue
          merged[field] = value === null ? undefined : value
        }
        const config = await validateConfig(id, type, merged)
        const { plain, secrets } = await split(id, type, config)
        changes.config = JSON.stringify(plain)
        changes.secrets = JSON.stringify(secrets)
      }
      if (Object.keys(changes).length === 0) return toDoc(row)
      changes.updated_at = now()
      if (changes.updated_at === row.updated_at) {
        changes.updated_at = new Date(Date.parse(row.updated_at) + 1).toISOString()
      }
      await db
        .updateTable('storage_backends')
        .set(changes)
        .where('id', '=', id)
        .execute()
        .catch((error: unknown) =>
          uniqueViolationToConflict(error, `A storage backend named '${request.name}' exists`),
        )
      if (changes.config) {
        await closeDriver(id)
        track(this.check(id))
      }
      return toDoc(await load(id))
    },

    /** The target manager of an iSCSI backend, for the LUN service. */
    async target(id: string): Promise<TargetDriver> {
      return targetOf(await load(id))
    },

    /** `DELETE /storage/backends/{id}`: forgets it (the data on the backend stays). */
    async delete(id: string): Promise<void> {
      const row = await load(id)
      const luns = await db
        .selectFrom('iscsi_luns')
        .select('id')
        .where('backend_id', '=', id)
        .executeTakeFirst()
      if (luns) {
        throw new PStorageError(
          'conflict',
          `Backend ${row.name} still has LUNs: delete them before the backend`,
        )
      }
      await closeDriver(id)
      clearTimeout(staleStats.get(id))
      await db.deleteFrom('storage_backends').where('id', '=', id).execute()
    },

    /** `POST /storage/backends/{id}/test`: a structured answer; sets the status. */
    async test(id: string): Promise<ConnectionTest> {
      return runTest(await load(id))
    },

    /** The health check of one backend: test, then stats when stale and online. */
    async check(id: string): Promise<void> {
      const row = await find(id)
      if (!row || closed) return
      const result = await runTest(row)
      const handler = handlerOf(row.type as BackendType)
      const stale =
        !row.stats_updated_at ||
        clock.now().getTime() - Date.parse(row.stats_updated_at) > statsMaxAgeMs
      if (result.ok && stale && handler?.open) {
        const driver = await driverOf(row)
        if (driver.capabilities.stats) await computeStats(row)
      }
    },

    /** Checks every backend (what the periodic health check runs). */
    async checkAll(): Promise<void> {
      const rows = await db.selectFrom('storage_backends').select('id').execute()
      for (const { id } of rows) {
        if (closed) return
        await this.check(id).catch(onBackgroundError)
      }
    },

    /** Starts the periodic health check; `0` stops it. */
    startHealthChecks(intervalMs: number): void {
      clearInterval(timer)
      timer = undefined
      if (intervalMs <= 0 || closed) return
      timer = setInterval(() => track(this.checkAll()), intervalMs)
      timer.unref?.()
    },

    /** Recomputes and returns the stats of a backend. */
    async refreshStats(id: string): Promise<BackendStatsDoc> {
      return computeStats(await load(id))
    },

    /** `GET .../files?path=`: one page of a directory. */
    async listFiles(
      id: string,
      query: { path?: string; limit?: number; cursor?: string },
    ): Promise<FileList> {
      const { driver } = await fileRow(id)
      const path = toApiPath(normalizeBackendPath(query.path ?? '/'))
      const result = await driver.list(path, {
        ...(query.limit !== undefined && { limit: query.limit }),
        ...(query.cursor !== undefined && { cursor: query.cursor }),
      })
      return { path, items: result.items, next_cursor: result.next_cursor ?? null }
    },

    /** The entry at `path`. */
    async statFile(id: string, path: string): Promise<StorageFile> {
      return (await fileRow(id)).driver.stat(path)
    },

    /** Opens a file for streaming, optionally a range. */
    async readFile(id: string, path: string, options?: ReadOptions): Promise<ReadResult> {
      return (await fileRow(id)).driver.read(path, options)
    },

    /**
     * Stores one uploaded file at `directory/name`, streaming; the backend's upload policy
     * (extensions, sniffed type, size) is enforced before and while bytes flow.
     */
    async uploadFile(
      id: string,
      directory: string,
      name: string,
      source: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
      options: { overwrite?: boolean } = {},
    ): Promise<StorageFile> {
      const { row, driver } = await fileRow(id)
      // One name, no separators: `../x` or `a/b` as a file name is refused, not resolved.
      const single = name.includes('/') || name.includes('\\') ? '' : normalizeBackendPath(name)
      if (single === '' || single.includes('/')) {
        throw new PStorageError('bad_request', `'${name}' is not a valid file name`)
      }
      const file = normalizeBackendPath(`${normalizeBackendPath(directory)}/${single}`)
      const write = requireOp(driver, 'write')
      const policy = parseJson<UploadPolicy>(row.upload_policy)
      const stored = await write(toApiPath(file), enforceUploadPolicy(policy, name, source), {
        overwrite: options.overwrite ?? false,
      })
      statsChanged(id)
      return stored
    },

    /** `DELETE .../files`: one result per path. */
    async deleteFiles(id: string, paths: readonly string[]): Promise<DeleteResult[]> {
      const { driver } = await fileRow(id)
      const results = await requireOp(driver, 'delete')(paths)
      statsChanged(id)
      return results
    },

    /** `POST .../folders`. */
    async createFolder(id: string, path: string): Promise<StorageFile> {
      const { driver } = await fileRow(id)
      return requireOp(driver, 'mkdir')(path)
    },

    /**
     * `POST .../files/move`: each path into the directory `destination` (or, with
     * `rename`, the one path to `destination`); one result per path, in order.
     */
    async moveFiles(id: string, input: unknown): Promise<MoveResult[]> {
      const request = parseInput(MoveFilesRequestSchema, input)
      const { driver } = await fileRow(id)
      const move = requireOp(driver, 'move')
      // Every path is checked before anything moves: a refused one fails the whole call.
      const sources = request.paths.map((p) => toApiPath(normalizeBackendPath(p)))
      const destination = toApiPath(normalizeBackendPath(request.destination))
      const results: MoveResult[] = []
      for (const path of sources) {
        const to = request.rename
          ? destination
          : toApiPath(
              normalizeBackendPath(`${destination}/${baseName(normalizeBackendPath(path))}`),
            )
        try {
          const file = await move(path, to, { overwrite: request.overwrite ?? false })
          results.push({ path, to, moved: true, file })
        } catch (error) {
          if (!isPStorageError(error)) throw error
          results.push({
            path,
            to,
            moved: false,
            error: { code: error.code, detail: error.detail },
          })
        }
      }
      statsChanged(id)
      return results
    },

    /** Stops the health check, waits for background work, closes every driver. */
    async close(): Promise<void> {
      closed = true
      clearInterval(timer)
      for (const t of staleStats.values()) clearTimeout(t)
      staleStats.clear()
      await Promise.allSettled([...background])
      await Promise.all([...new Set([...drivers.keys(), ...targets.keys()])].map(closeDriver))
    },
  })
}

/** The backends service: see {@link createBackendService}. */
export type BackendService = ReturnType<typeof createBackendService>
