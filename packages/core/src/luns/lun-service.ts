import type { Kysely } from 'kysely'
import type { BackendService } from '../backends/backend-service.js'
import { isPStorageError, notFound, PStorageError } from '../errors.js'
import { generateChapSecret } from '../iscsi/chap.js'
import { generateIqn } from '../iscsi/iqn.js'
import type { Clock } from '../ports/clock.js'
import type { IdGenerator } from '../ports/id-generator.js'
import type { SecretVault } from '../ports/secret-vault.js'
import type { TargetDriver } from '../ports/target-driver.js'
import { parseInput, parseListQuery } from '../services/validate.js'
import type { Database, IscsiLunRow } from '../store/database.js'
import { page, uniqueViolationToConflict } from '../store/repositories.js'
import {
  AssignLunRequestSchema,
  CreateLunRequestSchema,
  ListLunsQuerySchema,
  type Lun,
  type LunList,
  type LunStatus,
  type ReconcileReport,
  UpdateLunRequestSchema,
} from './lun-schemas.js'

/** What {@link createLunService} needs. */
export interface LunServiceDeps {
  readonly db: Kysely<Database>
  readonly vault: SecretVault
  readonly clock: Clock
  readonly ids: IdGenerator
  readonly backends: BackendService
  /** Reversed domain of generated IQNs. @default 'local.pstorage' */
  readonly iqnDomain?: string
  /** Where failures of background jobs are reported (they also set the LUN's status). */
  readonly onBackgroundError?: (error: unknown) => void
}

const GiB = 1024 ** 3
const chapContext = (id: string) => `lun:${id}|chap_secret`
const backingFileOf = (row: IscsiLunRow) => `${row.name}.img`

/** A failure as the LUN's `status_message`: PStorage's own words, never a native error. */
function reasonOf(error: unknown): string {
  return isPStorageError(error) ? error.detail : 'The target host failed the operation'
}

/**
 * iSCSI LUNs on target hosts (seeds/000 §3): each LUN is one target with one logical unit
 * backed by a sparse file on the host of its `iscsi` backend, managed through that
 * backend's `TargetDriver` (tgt or targetcli over SSH).
 *
 * Jobs are durable without a queue: a LUN's `status` is its job state. Create answers
 * `creating` and a background job creates it on the host (idempotently), then sets `ready`
 * or `error` with the reason; delete sets `deleting`, and only a successful delete on the
 * host removes the record (a failure leaves `error`). `resume()`, run when PStorage opens,
 * restarts every job left `creating` or `deleting` by a stop. Work on one host is
 * serialised. Assignment adds a machine's initiator to the target's ACL (`active`); CHAP
 * credentials are generated, sealed in the vault, and revealed only on request.
 *
 * @example
 * ```ts
 * const lun = await pstorage.luns.create({ name: 'vol1', size_gb: 10, target_id: backend.id })
 * await pstorage.luns.settle(lun.id) // tests: wait for the job
 * ```
 */
export function createLunService(deps: LunServiceDeps) {
  const { db, vault, clock, ids, backends } = deps
  const domain = deps.iqnDomain ?? 'local.pstorage'
  const onBackgroundError = deps.onBackgroundError ?? (() => {})
  const queues = new Map<string, Promise<unknown>>()
  const jobs = new Map<string, Promise<void>>()
  let closed = false

  const now = () => clock.now().toISOString()
  const find = (id: string) =>
    db.selectFrom('iscsi_luns').selectAll().where('id', '=', id).executeTakeFirst()
  const load = async (id: string) => {
    const row = await find(id)
    if (!row) throw notFound('LUN', id)
    return row
  }
  const setStatus = (id: string, status: LunStatus, message: string | null = null) =>
    db
      .updateTable('iscsi_luns')
      .set({ status, status_message: message, updated_at: now() })
      .where('id', '=', id)
      .execute()

  /** Runs `work` after everything queued on the same host. */
  function onHost<T>(backendId: string, work: () => Promise<T>): Promise<T> {
    const previous = queues.get(backendId) ?? Promise.resolve()
    const next = previous.catch(() => {}).then(work)
    queues.set(backendId, next)
    return next
  }

  const assignmentsOf = (lunId: string) =>
    db
      .selectFrom('iscsi_lun_assignments')
      .innerJoin('machines', 'machines.id', 'iscsi_lun_assignments.machine_id')
      .select(['machines.id', 'machines.name', 'machines.initiator_iqn'])
      .where('iscsi_lun_assignments.lun_id', '=', lunId)
      .orderBy('iscsi_lun_assignments.created_at')
      .execute()

  async function toLun(row: IscsiLunRow): Promise<Lun> {
    const backend = await backends.get(row.backend_id).catch(() => undefined)
    const assigned = await assignmentsOf(row.id)
    const config = (backend?.config ?? {}) as { portal_address?: string; portal_port?: number }
    return {
      id: row.id,
      name: row.name,
      size_gb: Number(row.size_gb),
      target_id: row.backend_id,
      target_name: backend?.name ?? '',
      iqn: row.iqn,
      purpose: row.purpose as Lun['purpose'],
      status: row.status as LunStatus,
      status_message: row.status_message,
      assigned_node_id: assigned[0]?.id ?? null,
      assigned_node_name: assigned[0]?.name ?? null,
      assigned_node_ids: assigned.map((a) => a.id),
      shareable: Boolean(row.shareable),
      chap_enabled: Boolean(row.chap_enabled),
      chap_user: row.chap_enabled ? row.chap_user : null,
      portal: { address: config.portal_address ?? '', port: config.portal_port ?? 3260 },
      created_at: row.created_at,
      updated_at: row.updated_at,
    }
  }

  async function applyChap(target: TargetDriver, row: IscsiLunRow): Promise<void> {
    if (row.chap_enabled && row.chap_user && row.chap_secret) {
      const secret = await vault.open(row.chap_secret, chapContext(row.id))
      await target.setChap({ iqn: row.iqn, userid: row.chap_user, secret })
    } else await target.clearChap({ iqn: row.iqn })
  }

  /** The create job: idempotent on the host, so a resumed job simply runs again. */
  async function createJob(id: string): Promise<void> {
    const row = await find(id)
    if (!row || row.status !== 'creating') return
    try {
      const backend = await backends.get(row.backend_id)
      const config = backend.config as { portal_address: string; portal_port: number }
      const target = await backends.target(row.backend_id)
      await target.createLun({
        name: row.name,
        iqn: row.iqn,
        sizeBytes: Number(row.size_gb) * GiB,
        backingFile: backingFileOf(row),
        portal: { address: config.portal_address, port: config.portal_port },
      })
      await applyChap(target, row)
      await setStatus(id, 'ready')
    } catch (error) {
      await setStatus(id, 'error', `Create failed: ${reasonOf(error)}`)
      onBackgroundError(error)
    }
  }

  /** The delete job: the record goes only once the host has let the LUN go. */
  async function deleteJob(id: string): Promise<void> {
    const row = await find(id)
    if (!row || row.status !== 'deleting') return
    try {
      const target = await backends.target(row.backend_id)
      await target.deleteLun({ iqn: row.iqn, backingFile: backingFileOf(row) })
      await db.deleteFrom('iscsi_luns').where('id', '=', id).execute()
    } catch (error) {
      await setStatus(id, 'error', `Delete failed: ${reasonOf(error)}`)
      onBackgroundError(error)
    }
  }

  function startJob(
    row: Pick<IscsiLunRow, 'id' | 'backend_id'>,
    job: (id: string) => Promise<void>,
  ) {
    if (closed) return
    const run = onHost(row.backend_id, () => job(row.id))
      .catch(onBackgroundError)
      .finally(() => {
        if (jobs.get(row.id) === run) jobs.delete(row.id)
      })
    jobs.set(row.id, run)
  }

  /** Runs a host operation for an API call: errors reach the caller, nothing is recorded. */
  const onHostNow = <T>(row: IscsiLunRow, work: (target: TargetDriver) => Promise<T>) =>
    onHost(row.backend_id, async () => work(await backends.target(row.backend_id)))

  const requireSettled = (row: IscsiLunRow, action: string) => {
    if (row.status === 'creating' || row.status === 'deleting') {
      throw new PStorageError(
        'conflict',
        `LUN ${row.name} is ${row.status}: wait until it settles before you ${action} it`,
      )
    }
  }

  return Object.freeze({
    async list(query?: unknown): Promise<LunList> {
      const { target_id, status, purpose, ...rest } = parseInput(
        ListLunsQuerySchema,
        query ?? {},
        'query',
      )
      const parsed = parseListQuery(ListLunsQuerySchema, rest)
      let base = db.selectFrom('iscsi_luns')
      if (target_id) base = base.where('backend_id', '=', target_id)
      if (status) base = base.where('status', '=', status)
      if (purpose) base = base.where('purpose', '=', purpose)
      const { rows, total } = await page<Database, 'iscsi_luns', IscsiLunRow>(
        base as never,
        parsed,
        'created_at',
      )
      return { luns: await Promise.all(rows.map(toLun)), total }
    },

    async get(id: string): Promise<Lun> {
      return toLun(await load(id))
    },

    /** Records the LUN as `creating` and starts the job that creates it on the host. */
    async create(input: unknown): Promise<Lun> {
      const r = parseInput(CreateLunRequestSchema, input)
      const backend = await backends.get(r.target_id).catch((error: unknown) => {
        if (isPStorageError(error, 'not_found')) {
          throw new PStorageError('not_found', `Backend ${r.target_id} not found`)
        }
        throw error
      })
      if (backend.type !== 'iscsi') {
        throw new PStorageError('bad_request', `Backend ${backend.name} is not an iscsi backend`)
      }
      const id = ids.next()
      const at = now()
      const chap = r.chap_enabled ?? false
      const row: IscsiLunRow = {
        id,
        name: r.name,
        size_gb: r.size_gb,
        backend_id: backend.id,
        iqn: generateIqn({ createdAt: clock.now(), domain, name: r.name }),
        purpose: r.purpose ?? 'boot_from_san',
        status: 'creating',
        status_message: null,
        shareable: r.shareable ? 1 : 0,
        chap_enabled: chap ? 1 : 0,
        chap_user: chap ? r.name : null,
        chap_secret: chap ? await vault.seal(generateChapSecret(), chapContext(id)) : null,
        created_at: at,
        updated_at: at,
      }
      await db
        .insertInto('iscsi_luns')
        .values(row)
        .execute()
        .catch((error: unknown) =>
          uniqueViolationToConflict(
            error,
            `A LUN named '${r.name}' exists on ${backend.name}, or its IQN is taken`,
          ),
        )
      startJob(row, createJob)
      return toLun(row)
    },

    /** CHAP on/off (new credentials each time it is turned on), purpose, sharing. */
    async update(id: string, input: unknown): Promise<Lun> {
      const r = parseInput(UpdateLunRequestSchema, input)
      const row = await load(id)
      if (r.chap_enabled !== undefined && r.chap_enabled !== Boolean(row.chap_enabled)) {
        requireSettled(row, 'change CHAP of')
        const next: IscsiLunRow = {
          ...row,
          chap_enabled: r.chap_enabled ? 1 : 0,
          chap_user: r.chap_enabled ? row.name : null,
          chap_secret: r.chap_enabled
            ? await vault.seal(generateChapSecret(), chapContext(row.id))
            : null,
        }
        await onHostNow(row, (target) => applyChap(target, next))
        await db
          .updateTable('iscsi_luns')
          .set({
            chap_enabled: next.chap_enabled,
            chap_user: next.chap_user,
            chap_secret: next.chap_secret,
          })
          .where('id', '=', id)
          .execute()
      }
      if (r.shareable === false && row.shareable) {
        if ((await assignmentsOf(id)).length > 1) {
          throw new PStorageError(
            'conflict',
            `LUN ${row.name} is assigned to several nodes: unassign all but one first`,
          )
        }
      }
      await db
        .updateTable('iscsi_luns')
        .set({
          ...(r.purpose !== undefined && { purpose: r.purpose }),
          ...(r.shareable !== undefined && { shareable: r.shareable ? 1 : 0 }),
          updated_at: now(),
        })
        .where('id', '=', id)
        .execute()
      return toLun(await load(id))
    },

    /** Sets `deleting` and starts the job; assigned LUNs must be unassigned first. */
    async delete(id: string): Promise<Lun> {
      const row = await load(id)
      requireSettled(row, 'delete')
      if ((await assignmentsOf(id)).length > 0) {
        throw new PStorageError(
          'conflict',
          `LUN ${row.name} is assigned: unassign it before deleting (its sessions would drop)`,
        )
      }
      await setStatus(id, 'deleting')
      startJob(row, deleteJob)
      return toLun(await load(id))
    },

    /** Lets the machine's initiator log in to the LUN (`active`). */
    async assign(id: string, input: unknown): Promise<Lun> {
      const { node_id } = parseInput(AssignLunRequestSchema, input)
      const row = await load(id)
      if (row.status !== 'ready' && row.status !== 'active') {
        throw new PStorageError('conflict', `LUN ${row.name} is ${row.status}, not ready`)
      }
      const machine = await db
        .selectFrom('machines')
        .selectAll()
        .where('id', '=', node_id)
        .executeTakeFirst()
      if (!machine) throw notFound('Machine', node_id)
      if (!machine.initiator_iqn) {
        throw new PStorageError(
          'bad_request',
          `Machine ${machine.name} has no initiator_iqn: set it before assigning LUNs`,
        )
      }
      const assigned = await assignmentsOf(id)
      if (assigned.some((a) => a.id === node_id)) return toLun(row)
      if (assigned.length > 0 && !row.shareable) {
        throw new PStorageError(
          'conflict',
          `LUN ${row.name} is assigned to ${assigned[0]!.name}; it is not shareable`,
        )
      }
      await onHostNow(row, (target) =>
        target.allowInitiator({ iqn: row.iqn, initiatorIqn: machine.initiator_iqn! }),
      )
      await db
        .insertInto('iscsi_lun_assignments')
        .values({ lun_id: id, machine_id: node_id, created_at: now() })
        .execute()
      await setStatus(id, 'active')
      return toLun(await load(id))
    },

    /** Removes the machine's initiator from the LUN's ACL (`ready` when no one is left). */
    async unassign(id: string, input: unknown): Promise<Lun> {
      const { node_id } = parseInput(AssignLunRequestSchema, input)
      const row = await load(id)
      requireSettled(row, 'unassign')
      const assigned = await assignmentsOf(id)
      const machine = assigned.find((a) => a.id === node_id)
      if (!machine) {
        throw new PStorageError('conflict', `LUN ${row.name} is not assigned to ${node_id}`)
      }
      if (machine.initiator_iqn) {
        await onHostNow(row, (target) =>
          target.denyInitiator({ iqn: row.iqn, initiatorIqn: machine.initiator_iqn! }),
        )
      }
      await db
        .deleteFrom('iscsi_lun_assignments')
        .where('lun_id', '=', id)
        .where('machine_id', '=', node_id)
        .execute()
      if (assigned.length === 1 && row.status === 'active') await setStatus(id, 'ready')
      return toLun(await load(id))
    },

    /** The CHAP credentials of a LUN (admins, to configure an initiator); audited. */
    async revealChap(id: string): Promise<{ userid: string; secret: string }> {
      const row = await load(id)
      if (!row.chap_enabled || !row.chap_user || !row.chap_secret) {
        throw new PStorageError('conflict', `LUN ${row.name} has CHAP disabled`)
      }
      return { userid: row.chap_user, secret: await vault.open(row.chap_secret, chapContext(id)) }
    },

    /** Compares the host with the records of one iscsi backend; changes nothing. */
    async reconcile(backendId: string): Promise<ReconcileReport> {
      const backend = await backends.get(backendId)
      if (backend.type !== 'iscsi') {
        throw new PStorageError('bad_request', `Backend ${backend.name} is not an iscsi backend`)
      }
      const state = await onHost(backendId, async () => (await backends.target(backendId)).list())
      const rows = await db
        .selectFrom('iscsi_luns')
        .selectAll()
        .where('backend_id', '=', backendId)
        .execute()
      const byIqn = new Map(state.map((t) => [t.iqn, t]))
      const known = new Set(rows.map((r) => r.iqn))
      const report: ReconcileReport = {
        backend_id: backendId,
        checked_at: now(),
        in_sync: true,
        orphans: state
          .filter((t) => !known.has(t.iqn))
          .map((t) => ({
            iqn: t.iqn,
            backing_paths: t.luns.map((l) => l.backingPath),
            initiators: [...t.initiators],
          })),
        missing: [],
        mismatched: [],
      }
      for (const row of rows) {
        if (row.status === 'creating' || row.status === 'deleting') continue
        const target = byIqn.get(row.iqn)
        if (!target) {
          report.missing.push({ lun_id: row.id, name: row.name, iqn: row.iqn })
          continue
        }
        const problems: string[] = []
        const lun = target.luns[0]
        if (!lun) problems.push('the target has no logical unit')
        else if (lun.sizeBytes !== Number(row.size_gb) * GiB) {
          problems.push(`size is ${lun.sizeBytes ?? 'unknown'} bytes, not ${row.size_gb} GiB`)
        }
        const expected = (await assignmentsOf(row.id))
          .map((a) => a.initiator_iqn)
          .filter((i): i is string => i !== null)
          .sort()
        if (JSON.stringify(expected) !== JSON.stringify([...target.initiators].sort())) {
          problems.push(
            `initiators are [${target.initiators.join(', ')}], not [${expected.join(', ')}]`,
          )
        }
        const chapUser = row.chap_enabled ? row.chap_user : null
        if (target.chapUser !== chapUser) {
          problems.push(`CHAP user is ${target.chapUser ?? 'none'}, not ${chapUser ?? 'none'}`)
        }
        if (target.initiatorAddresses.length > 0) {
          problems.push(`address ACLs ${target.initiatorAddresses.join(', ')} are open`)
        }
        if (problems.length > 0) {
          report.mismatched.push({ lun_id: row.id, name: row.name, iqn: row.iqn, problems })
        }
      }
      report.in_sync =
        report.orphans.length === 0 && report.missing.length === 0 && report.mismatched.length === 0
      return report
    },

    /** Restarts the jobs a stop left behind (`creating`, `deleting`). */
    async resume(): Promise<number> {
      const rows = await db
        .selectFrom('iscsi_luns')
        .select(['id', 'backend_id', 'status'])
        .where('status', 'in', ['creating', 'deleting'])
        .execute()
      for (const row of rows) startJob(row, row.status === 'creating' ? createJob : deleteJob)
      return rows.length
    },

    /** Resolves once the LUN's running job (if any) has finished. */
    async settle(id: string): Promise<Lun | undefined> {
      await jobs.get(id)
      const row = await find(id)
      return row ? toLun(row) : undefined
    },

    /** Waits for running jobs; later jobs are not started. */
    async close(): Promise<void> {
      closed = true
      await Promise.allSettled([...jobs.values()])
    },
  })
}

/** iSCSI LUNs: see {@link createLunService}. */
export type LunService = ReturnType<typeof createLunService>
