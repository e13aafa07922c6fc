import { describe, expect, it } from 'vitest'
import { AuditEntrySchema, AuditListSchema, ListAuditQuerySchema } from './audit-schemas.js'
import { auditActor, auditText } from './audit-service.js'
import { rejection, useIdentityFixture } from './test-kit.js'

const setup = useIdentityFixture()

describe('audit.record', () => {
  it('appends an entry timestamped in UTC with every field', async () => {
    const { identity, root } = await setup()
    const entry = await identity.audit.record({
      ...auditActor(root),
      request_id: 'req-1',
      ip: '192.0.2.10',
      user_agent: 'cli/1.0',
      method: 'DELETE',
      route: '/api/v1/volumes/{id}',
      action: 'volume.delete',
      resource_type: 'volume',
      resource_id: 'v-1',
      outcome: 'success',
      status: 204,
    })
    expect(AuditEntrySchema.strict().parse(entry)).toEqual(entry)
    expect(entry).toMatchObject({
      at: '2025-01-15T10:00:00.000Z',
      actor_type: 'user',
      actor_id: root.id,
      actor_name: 'root',
      role: 'admin',
      status: 204,
      detail: null,
    })
    expect((await identity.audit.list()).entries).toEqual([entry])
  })

  it('strips CR/LF and control characters, caps lengths, redacts credentials', async () => {
    const { identity } = await setup()
    const entry = await identity.audit.record({
      action: 'auth.login\r\nforged: entry',
      outcome: 'denied',
      user_agent: `x${'y'.repeat(2000)}`,
      detail:
        'sent psk_abcdefgh_0123456789abcdefghijABCDEFGHIJ0123456789xyz and Bearer eyJa.eyJb.c',
      status: 9999,
    })
    expect(entry.action).toBe('auth.login forged: entry')
    expect(Array.from(entry.user_agent ?? '')).toHaveLength(512)
    expect(entry.detail).toBe('sent psk_abcdefgh_[REDACTED] and Bearer [REDACTED]')
    expect(entry.status).toBeNull()
    expect(auditText('a\u0000b\u001b[31mc\td', 100)).toBe('ab[31mcd')
    expect(auditText('token eyJhbGciOi.eyJzdWIi.sig here', 100)).toBe('token [REDACTED_JWT] here')
  })
})

describe('audit.list', () => {
  it('filters by actor, action, resource, outcome and time; pages newest first', async () => {
    const { identity, root, advance, addUser } = await setup()
    const alice = await addUser('alice', 'operator')
    const rows = [
      { ...auditActor(root), action: 'user.create', resource_type: 'user', resource_id: alice.id },
      { ...auditActor(alice), action: 'volume.create', resource_type: 'volume', resource_id: 'v1' },
      { ...auditActor(alice), action: 'volume.delete', resource_type: 'volume', resource_id: 'v1' },
      { ...auditActor(), action: 'auth.login', outcome: 'denied' as const, status: 401 },
      { ...auditActor(alice), action: 'volume.delete', resource_type: 'volume', resource_id: 'v2' },
    ]
    for (const row of rows) {
      advance(60)
      await identity.audit.record({ outcome: 'success', ...row })
    }
    const actions = async (query: object) => {
      const list = await identity.audit.list(query)
      expect(AuditListSchema.parse(list)).toEqual(list)
      return list.entries.map((e) => `${e.action}:${e.resource_id}`)
    }
    expect(await actions({ limit: 2 })).toEqual(['volume.delete:v2', 'auth.login:null'])
    expect(await actions({ limit: 2, offset: 2, order: 'asc' })).toEqual([
      'volume.delete:v1',
      'auth.login:null',
    ])
    expect((await identity.audit.list({ limit: 1 })).total).toBe(5)
    expect(await actions({ actor: 'alice', action: 'volume.delete' })).toEqual([
      'volume.delete:v2',
      'volume.delete:v1',
    ])
    expect(await actions({ actor: root.id })).toEqual([`user.create:${alice.id}`])
    expect(await actions({ resource: 'v1', order: 'asc' })).toEqual([
      'volume.create:v1',
      'volume.delete:v1',
    ])
    expect((await identity.audit.list({ resource: 'volume' })).total).toBe(3)
    expect(await actions({ outcome: 'denied' })).toEqual(['auth.login:null'])
    // An already parsed query (the HTTP layer's) parses again unchanged.
    expect(await actions(ListAuditQuerySchema.parse({ limit: '1', outcome: 'denied' }))).toEqual([
      'auth.login:null',
    ])
    // Entries are at T0 + 60 s … T0 + 300 s; bounds without milliseconds still compare right.
    expect(
      await actions({ from: '2025-01-15T10:02:00Z', to: '2025-01-15T10:04:00Z', order: 'asc' }),
    ).toEqual(['volume.create:v1', 'volume.delete:v1'])
  })

  it('validates the query strictly', async () => {
    const { identity } = await setup()
    for (const query of [{ limit: 5000 }, { from: 'yesterday' }, { sql: '1=1' }]) {
      expect((await rejection(identity.audit.list(query))).code).toBe('validation_error')
    }
  })
})
