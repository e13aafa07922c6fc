import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseIncomingUser, renderTgtConfig } from '../src/tgt-config.js'
import { parseTgtAccounts, parseTgtPortals, parseTgtTargets } from '../src/tgt-show.js'

// Fixtures captured from tgt 1.0.85 (Debian 12): a target with a live session, an incoming
// and an outgoing account and a name ACL; a foreign target with two LUNs and address ACLs;
// an empty target; an IPv6 portal.
const fixture = (name: string) => readFile(join(import.meta.dirname, 'fixtures', name), 'utf8')

describe('parseTgtTargets (tgt 1.0.85)', () => {
  it('reads targets, LUNs, accounts, ACLs and sessions', async () => {
    const targets = parseTgtTargets(await fixture('tgt-1.0.85-show-target.txt'))
    expect(targets).toEqual([
      {
        tid: 1,
        iqn: 'iqn.2025-01.local.pstorage:vol1',
        luns: [
          { lun: 0, type: 'controller', backingPath: null },
          { lun: 1, type: 'disk', backingPath: '/tmp/exp/a.img' },
        ],
        accounts: ['client1'],
        outgoingAccounts: ['mutual1'],
        acls: ['iqn.2025-01.local.client:a'],
        sessions: ['iqn.2025-01.local.client:a'],
      },
      {
        tid: 3,
        iqn: 'iqn.2024-12.com.example:legacy',
        luns: [
          { lun: 0, type: 'controller', backingPath: null },
          { lun: 1, type: 'disk', backingPath: '/tmp/exp/b.img' },
          { lun: 2, type: 'disk', backingPath: '/tmp/exp/c.img' },
        ],
        accounts: [],
        outgoingAccounts: [],
        acls: ['ALL', '192.168.10.0/24'],
        sessions: [],
      },
      {
        tid: 4,
        iqn: 'iqn.2025-02.local.pstorage:empty',
        luns: [{ lun: 0, type: 'controller', backingPath: null }],
        accounts: [],
        outgoingAccounts: [],
        acls: [],
        sessions: [],
      },
    ])
  })

  it('tolerates unknown lines and sections, and empty output', async () => {
    const text = (await fixture('tgt-1.0.85-show-target.txt'))
      .replace(
        '    LUN information:',
        '    Future information:\n        Key: value\n    LUN information:',
      )
      .replace('            Online: Yes', '            Online: Yes\n            Some new field: 42')
    expect(parseTgtTargets(text)).toEqual(
      parseTgtTargets(await fixture('tgt-1.0.85-show-target.txt')),
    )
    expect(parseTgtTargets('')).toEqual([])
    expect(parseTgtTargets('garbage\n\tmore\n')).toEqual([])
  })

  it('keeps a backing path with spaces whole', () => {
    const [t] = parseTgtTargets(
      'Target 2: iqn.2025-01.a.b:x\n    LUN information:\n        LUN: 1\n            Type: disk\n            Backing store path: /srv/my luns/x.img\n',
    )
    expect(t?.luns).toEqual([{ lun: 1, type: 'disk', backingPath: '/srv/my luns/x.img' }])
  })
})

describe('parseTgtPortals and parseTgtAccounts (tgt 1.0.85)', () => {
  it('reads IPv4 and bracketed IPv6 portals', async () => {
    expect(parseTgtPortals(await fixture('tgt-1.0.85-show-portal.txt'))).toEqual([
      { address: '::1', port: 43264 },
      { address: '127.0.0.1', port: 43263 },
    ])
  })

  it('reads the account list', async () => {
    expect(parseTgtAccounts(await fixture('tgt-1.0.85-show-account.txt'))).toEqual([
      'mutual1',
      'client1',
    ])
  })
})

describe('tgt config files', () => {
  it('renders a block tgt-admin reads, denying unlisted initiators', () => {
    const text = renderTgtConfig({
      iqn: 'iqn.2025-01.local.pstorage:vol1',
      backingPaths: ['/srv/luns/vol1.img'],
      initiators: ['iqn.2025-01.test.pstorage:a'],
      chap: { userid: 'u1', secret: 'Abc123Def456' },
    })
    expect(text).toBe(
      [
        '# Written by PStorage (tgt driver) on every change of this target: do not edit.',
        '<target iqn.2025-01.local.pstorage:vol1>',
        '    driver iscsi',
        '    backing-store /srv/luns/vol1.img',
        '    initiator-address 0.0.0.0/32',
        '    initiator-name iqn.2025-01.test.pstorage:a',
        '    incominguser u1 Abc123Def456',
        '</target>',
        '',
      ].join('\n'),
    )
    expect(parseIncomingUser(text)).toEqual({ userid: 'u1', secret: 'Abc123Def456' })
    expect(parseIncomingUser(text.replace(/.*incominguser.*\n/, ''))).toBeNull()
  })
})
