import type { Kysely } from 'kysely'
import { notFound, PStorageError } from '../errors.js'
import type { Clock } from '../ports/clock.js'
import type { IdGenerator } from '../ports/id-generator.js'
import { newApiKey } from '../security/opaque-tokens.js'
import { parseInput } from '../services/validate.js'
import type { Database } from '../store/database.js'
import { uniqueViolationToConflict } from '../store/repositories.js'
import { apiKeyRepository } from './api-key-repository.js'
import {
  type ApiKey,
  type ApiKeyList,
  CreateApiKeyRequestSchema,
  type CreatedApiKey,
  ListApiKeysQuerySchema,
} from './api-key-schemas.js'
import { toApiKey } from './dto.js'
import { type Principal, principalUserId, roleWithin } from './principal.js'
import type { ApiKeyRow } from './tables.js'

// Key ids are 40 random bits: a clash is rare, two in a row rarer than a disk failure.
const MAX_ID_ATTEMPTS = 3

/**
 * API keys (security.md: public prefix + 32 random bytes, SHA-256 stored, expiry,
 * last-used). A key belongs to the user who created it and can never carry a higher role.
 * Given a non-admin `principal`, list/get/revoke see only that user's keys, and another
 * user's key is `not_found` (OWASP API1).
 *
 * @example
 * ```ts
 * const { api_key } = await apiKeys.create({ name: 'ci', role: 'viewer' }, principal)
 * await apiKeys.revoke(id, principal)
 * ```
 */
export function createApiKeyService(deps: {
  db: Kysely<Database>
  clock: Clock
  ids: IdGenerator
}) {
  const { clock, ids } = deps
  const keys = apiKeyRepository(deps.db)

  /** Only admins see every key; anyone else only their own. */
  const visible = (row: ApiKeyRow | undefined, principal?: Principal) =>
    row !== undefined &&
    (!principal || principal.role === 'admin' || row.owner_id === principalUserId(principal))

  return Object.freeze({
    /**
     * Creates a key owned by the calling user; the secret is in `api_key` of this answer
     * only. `forbidden` if the role exceeds the caller's, or if the caller is itself an API
     * key (keys may not mint keys: a leaked key could otherwise outlive its own expiry).
     */
    async create(input: unknown, principal: Principal): Promise<CreatedApiKey> {
      if (principal.kind !== 'user') {
        throw new PStorageError('forbidden', 'API keys cannot create API keys')
      }
      const request = parseInput(CreateApiKeyRequestSchema, input)
      if (!roleWithin(request.role, principal.role)) {
        throw new PStorageError(
          'forbidden',
          `A key's role may not exceed your own role (${principal.role})`,
        )
      }
      const now = clock.now()
      const expiresAt = request.expires_at && new Date(request.expires_at).toISOString()
      if (expiresAt !== undefined && expiresAt <= now.toISOString()) {
        const issue = { path: 'expires_at', message: 'must be in the future' }
        throw new PStorageError('validation_error', 'Invalid request: expires_at: in the past', {
          details: { issues: [issue] },
        })
      }
      for (let attempt = 1; ; attempt++) {
        const key = newApiKey()
        const row: ApiKeyRow = {
          id: ids.next(),
          key_id: key.id,
          name: request.name,
          role: request.role,
          owner_id: principal.id,
          key_hash: key.hash,
          created_at: now.toISOString(),
          expires_at: expiresAt ?? null,
          last_used_at: null,
          revoked_at: null,
        }
        try {
          await keys.insert(row)
          return { ...toApiKey(row), api_key: key.secret }
        } catch (error) {
          if (attempt >= MAX_ID_ATTEMPTS) throw error
          uniqueViolationToConflict(error, 'API key id clash') // rethrows anything else
        }
      }
    },

    /** Keys with paging, sorting and name search; `owner_id` filters (forced for non-admins). */
    async list(query?: unknown, principal?: Principal): Promise<ApiKeyList> {
      const { offset, skip, ...rest } = parseInput(ListApiKeysQuerySchema, query ?? {}, 'query')
      const ownOnly = principal !== undefined && principal.role !== 'admin'
      const owner = ownOnly ? principalUserId(principal) : rest.owner_id
      const page = await keys.list({ ...rest, owner_id: owner, offset: offset ?? skip ?? 0 })
      return { api_keys: page.rows.map(toApiKey), total: page.total }
    },

    /** One key, or `not_found` (also for another user's key, to a non-admin). */
    async get(id: string, principal?: Principal): Promise<ApiKey> {
      const row = await keys.find(id)
      if (!visible(row, principal)) throw notFound('API key', id)
      return toApiKey(row!)
    },

    /**
     * Revokes a key at once. Idempotent (answer 204 every time): revoking a revoked key
     * changes nothing and keeps the first `revoked_at`, so a retried DELETE is harmless.
     */
    async revoke(id: string, principal?: Principal): Promise<void> {
      const row = await keys.find(id)
      if (!visible(row, principal)) throw notFound('API key', id)
      await keys.revoke(id, clock.now().toISOString())
    },
  })
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>
