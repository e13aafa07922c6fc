import { isIP } from 'node:net'
import { z } from 'zod'
import { IscsiNameSchema } from '../iscsi/schemas.js'
import { IdSchema, listQuerySchema, TimestampSchema } from '../schemas/common.js'

/** seeds/003 `boot_mode`. */
export const BOOT_MODES = ['bios', 'uefi'] as const

const MacSchema = z
  .string()
  .regex(/^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i, 'must be a MAC address like 00:11:22:33:44:55')
  .transform((mac) => mac.toLowerCase().replaceAll('-', ':'))
  .meta({ example: '00:11:22:33:44:55' })

const HostnameSchema = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i)
  .meta({ example: 'lab-pc-01' })

const IpSchema = z
  .string()
  .refine((ip) => isIP(ip) !== 0, 'must be an IPv4 or IPv6 address')
  .meta({ example: '192.168.1.101' })

const fields = {
  name: z.string().trim().min(1).max(128).meta({ example: 'LAB-PC-01' }),
  description: z.string().max(1024).nullable(),
  mac_address: MacSchema,
  hostname: HostnameSchema.nullable(),
  ip_address: IpSchema.nullable(),
  initiator_iqn: IscsiNameSchema.nullable().meta({
    description: 'iSCSI initiator name the machine logs in with (LUN assignment needs it)',
    example: 'iqn.2026-01.local.pstorage:lab-pc-01',
  }),
  boot_mode: z.enum(BOOT_MODES),
}

/** `POST /api/v1/machines` (seeds/003 machines, the fields LUN assignment needs). */
export const CreateMachineRequestSchema = z
  .strictObject({
    name: fields.name,
    description: fields.description.optional(),
    mac_address: fields.mac_address,
    hostname: fields.hostname.optional(),
    ip_address: fields.ip_address.optional(),
    initiator_iqn: fields.initiator_iqn.optional(),
    boot_mode: fields.boot_mode.optional().meta({ description: 'Default uefi' }),
  })
  .meta({
    id: 'CreateMachineRequest',
    example: {
      name: 'LAB-PC-02',
      mac_address: '00:11:22:33:44:56',
      hostname: 'lab-pc-02',
      ip_address: '192.168.1.102',
      initiator_iqn: 'iqn.2026-01.local.pstorage:lab-pc-02',
      boot_mode: 'uefi',
    },
  })

/** `PUT /api/v1/machines/{id}`: any subset of the fields; `null` clears an optional one. */
export const UpdateMachineRequestSchema = z
  .strictObject({
    name: fields.name.optional(),
    description: fields.description.optional(),
    mac_address: fields.mac_address.optional(),
    hostname: fields.hostname.optional(),
    ip_address: fields.ip_address.optional(),
    initiator_iqn: fields.initiator_iqn.optional(),
    boot_mode: fields.boot_mode.optional(),
  })
  .meta({ id: 'UpdateMachineRequest', example: { ip_address: '192.168.1.150' } })

/** A machine of the registry. */
export const MachineSchema = z
  .object({
    id: IdSchema,
    name: z.string(),
    description: z.string().nullable(),
    mac_address: z.string(),
    hostname: z.string().nullable(),
    ip_address: z.string().nullable(),
    initiator_iqn: z.string().nullable(),
    boot_mode: z.enum(BOOT_MODES),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({
    id: 'Machine',
    example: {
      id: '550e8400-e29b-41d4-a716-446655440000',
      name: 'LAB-PC-01',
      description: 'Laboratory Computer 01',
      mac_address: '00:11:22:33:44:55',
      hostname: 'lab-pc-01',
      ip_address: '192.168.1.101',
      initiator_iqn: 'iqn.2026-01.local.pstorage:lab-pc-01',
      boot_mode: 'uefi',
      created_at: '2026-01-01T00:00:00Z',
      updated_at: '2026-01-01T00:00:00Z',
    },
  })
export type Machine = z.infer<typeof MachineSchema>

export const MACHINE_SORT_KEYS = ['name', 'created_at', 'updated_at'] as const
export const ListMachinesQuerySchema = listQuerySchema(MACHINE_SORT_KEYS)

export const MachineListSchema = z
  .object({ machines: z.array(MachineSchema), total: z.number().int().min(0) })
  .meta({ id: 'MachineList' })
export type MachineList = z.infer<typeof MachineListSchema>
