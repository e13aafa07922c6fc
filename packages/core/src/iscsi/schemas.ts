import { z } from 'zod'
import { CHAP_SECRET_PATTERN, CHAP_USER_PATTERN } from './chap.js'
import { ISCSI_NAME_MAX_BYTES, isIscsiName } from './iqn.js'
import { LUN_NAME_PATTERN } from './names.js'

/**
 * An iSCSI name in requests (`iqn.` or `eui.` form, any case: services store it through
 * `normalizeIqn`). The same rules as the drivers, so the API refuses what a driver would.
 */
export const IscsiNameSchema = z
  .string()
  .min(1)
  .max(ISCSI_NAME_MAX_BYTES)
  .refine(isIscsiName, 'must be an iqn.YYYY-MM.reversed.domain[:name] or eui.<16 hex> name')
  .meta({ example: 'iqn.2025-01.local.pstorage:vol1' })

/** A LUN name (`assertLunName`). */
export const LunNameSchema = z.string().regex(LUN_NAME_PATTERN).meta({ example: 'vol1' })

/** A CHAP user name (`assertChapUser`). */
export const ChapUserSchema = z.string().regex(CHAP_USER_PATTERN).meta({ example: 'node1' })

/** A CHAP secret as a client may send it (`assertChapSecret`); never echoed in answers. */
export const ChapSecretSchema = z
  .string()
  .regex(CHAP_SECRET_PATTERN)
  .meta({ description: 'Secret: never returned', example: 'Abc123Def456' })
