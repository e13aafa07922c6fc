import type { Kysely } from 'kysely'
import { notFound, PStorageError } from '../errors.js'
import type { Clock } from '../ports/clock.js'
import type { IdGenerator } from '../ports/id-generator.js'
import { parseInput, parseListQuery } from '../services/validate.js'
import type { Database, MachineRow } from '../store/database.js'
import { page, uniqueViolationToConflict } from '../store/repositories.js'
import {
  CreateMachineRequestSchema,
  ListMachinesQuerySchema,
  type Machine,
  type MachineList,
  UpdateMachineRequestSchema,
} from './machine-schemas.js'

/** What {@link createMachineService} needs. */
export interface MachineServiceDeps {
  readonly db: Kysely<Database>
  readonly clock: Clock
  readonly ids: IdGenerator
}

const toMachine = (row: MachineRow): Machine => ({
  id: row.id,
  name: row.name,
  description: row.description,
  mac_address: row.mac_address,
  hostname: row.hostname,
  ip_address: row.ip_address,
  initiator_iqn: row.initiator_iqn,
  boot_mode: row.boot_mode as Machine['boot_mode'],
  created_at: row.created_at,
  updated_at: row.updated_at,
})

const duplicate = (error: unknown): never =>
  uniqueViolationToConflict(error, 'A machine with this name or MAC address exists')

/**
 * The machines registry (seeds/003 machines, the fields iSCSI LUN assignment needs): CRUD
 * with unique names and MAC addresses, initiator names stored lowercase. A machine with
 * LUNs assigned cannot be deleted, nor its initiator changed, until they are unassigned.
 *
 * @example
 * ```ts
 * const m = await pstorage.machines.create({ name: 'node1', mac_address: '00:11:22:33:44:55' })
 * ```
 */
export function createMachineService(deps: MachineServiceDeps) {
  const { db, clock, ids } = deps
  const find = (id: string) =>
    db.selectFrom('machines').selectAll().where('id', '=', id).executeTakeFirst()
  const load = async (id: string) => {
    const row = await find(id)
    if (!row) throw notFound('Machine', id)
    return row
  }
  const assignedLuns = async (id: string) =>
    Number(
      (
        await db
          .selectFrom('iscsi_lun_assignments')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('machine_id', '=', id)
          .executeTakeFirstOrThrow()
      ).n,
    )

  return Object.freeze({
    async list(query?: unknown): Promise<MachineList> {
      const parsed = parseListQuery(ListMachinesQuerySchema, query)
      const { rows, total } = await page<Database, 'machines', MachineRow>(
        db.selectFrom('machines') as never,
        parsed,
        'created_at',
      )
      return { machines: rows.map(toMachine), total }
    },

    async get(id: string): Promise<Machine> {
      return toMachine(await load(id))
    },

    async create(input: unknown): Promise<Machine> {
      const r = parseInput(CreateMachineRequestSchema, input)
      const at = clock.now().toISOString()
      const row: MachineRow = {
        id: ids.next(),
        name: r.name,
        description: r.description ?? null,
        mac_address: r.mac_address,
        hostname: r.hostname ?? null,
        ip_address: r.ip_address ?? null,
        initiator_iqn: r.initiator_iqn?.toLowerCase() ?? null,
        boot_mode: r.boot_mode ?? 'uefi',
        created_at: at,
        updated_at: at,
      }
      await db.insertInto('machines').values(row).execute().catch(duplicate)
      return toMachine(row)
    },

    async update(id: string, input: unknown): Promise<Machine> {
      const r = parseInput(UpdateMachineRequestSchema, input)
      const row = await load(id)
      const initiator =
        r.initiator_iqn === undefined ? row.initiator_iqn : (r.initiator_iqn?.toLowerCase() ?? null)
      if (initiator !== row.initiator_iqn && (await assignedLuns(id)) > 0) {
        throw new PStorageError(
          'conflict',
          `Machine ${row.name} has LUNs assigned: unassign them before changing its initiator`,
        )
      }
      const changes = {
        ...(r.name !== undefined && { name: r.name }),
        ...(r.description !== undefined && { description: r.description }),
        ...(r.mac_address !== undefined && { mac_address: r.mac_address }),
        ...(r.hostname !== undefined && { hostname: r.hostname }),
        ...(r.ip_address !== undefined && { ip_address: r.ip_address }),
        ...(r.boot_mode !== undefined && { boot_mode: r.boot_mode }),
        initiator_iqn: initiator,
        updated_at: clock.now().toISOString(),
      }
      await db.updateTable('machines').set(changes).where('id', '=', id).execute().catch(duplicate)
      return toMachine(await load(id))
    },

    async delete(id: string): Promise<void> {
      const row = await load(id)
      if ((await assignedLuns(id)) > 0) {
        throw new PStorageError(
          'conflict',
          `Machine ${row.name} has LUNs assigned: unassign them first`,
        )
      }
      await db.deleteFrom('machines').where('id', '=', id).execute()
    },
  })
}

/** The machines registry: see {@link createMachineService}. */
export type MachineService = ReturnType<typeof createMachineService>
