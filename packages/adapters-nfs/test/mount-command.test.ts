import { isPStorageError } from '@pstorage/core'
import { describe, expect, it } from 'vitest'
import {
  buildMountCommand,
  buildUnmountCommand,
  MOUNT_OPTION_NAMES,
  type MountCommandInput,
} from '../src/index.js'

// The kernel of the machines these tests run on has no NFS client, so mount mode cannot
// mount anything here: it is documented as needing one (README). What is tested is the
// command it would run, which is where its risk lies (it runs as root): argv only, no
// shell, validated server, export and mount point, allow-listed options.

const base: MountCommandInput = {
  server: 'nas.lan',
  export: '/srv/templates',
  mountPoint: '/mnt/t',
}

function problemsOf(input: Partial<MountCommandInput> & Record<string, unknown>): string[] {
  try {
    buildMountCommand({ ...base, ...input } as MountCommandInput)
  } catch (error) {
    expect(isPStorageError(error, 'bad_request')).toBe(true)
    return (error as { details: { issues: string[] } }).details.issues
  }
  return []
}

describe('buildMountCommand', () => {
  it('builds an argv array with nosuid,nodev always first', () => {
    expect(buildMountCommand(base)).toEqual([
      'mount',
      '-t',
      'nfs',
      '-o',
      'nosuid,nodev',
      'nas.lan:/srv/templates',
      '/mnt/t',
    ])
    expect(
      buildMountCommand({ ...base, mountOptions: ['vers=4.1', 'proto=tcp', 'hard', 'nconnect=4'] }),
    ).toEqual([
      'mount',
      '-t',
      'nfs',
      '-o',
      'nosuid,nodev,vers=4.1,proto=tcp,hard,nconnect=4',
      'nas.lan:/srv/templates',
      '/mnt/t',
    ])
  })

  it('formats IPv4, IPv6 and trailing slashes', () => {
    const source = (server: string, exp = '/e') =>
      buildMountCommand({ ...base, server, export: exp })[5]
    expect(source('10.0.0.5')).toBe('10.0.0.5:/e')
    expect(source('fd00::5')).toBe('[fd00::5]:/e')
    expect(source('[fd00::5]')).toBe('[fd00::5]:/e')
    expect(source('nas.example.com.', '/srv/')).toBe('nas.example.com.:/srv')
    expect(source('nas', '/')).toBe('nas:/')
    expect(buildMountCommand({ ...base, mountPoint: '/mnt/t/' })[6]).toBe('/mnt/t')
  })

  it('accepts every allow-listed option with a valid value', () => {
    const valid: Record<string, string> = {
      vers: '3',
      nfsvers: '4.2',
      proto: 'tcp6',
      mountproto: 'tcp',
      port: '2049',
      mountport: '20048',
      timeo: '600',
      retrans: '2',
      retry: '0',
      rsize: '1048576',
      wsize: '65536',
      nconnect: '16',
      actimeo: '0',
      acregmin: '3',
      acregmax: '60',
      acdirmin: '30',
      acdirmax: '60',
      sec: 'krb5p',
      local_lock: 'none',
      lookupcache: 'positive',
    }
    for (const name of MOUNT_OPTION_NAMES) {
      const option = name in valid ? `${name}=${valid[name]}` : name
      expect(problemsOf({ mountOptions: [option] }), option).toEqual([])
    }
  })

  it('refuses options off the allow-list, including smuggled ones', () => {
    for (const option of [
      'exec',
      'suid',
      'dev',
      'user',
      'context=system_u:object_r:tmp_t:s0',
      'vers=3,exec', // a comma inside one item cannot add an option
      'ro,suid',
      'rw exec',
      '-oremount',
      'vers=3;reboot',
      'hard\n',
      '',
      'fsc',
      'clientaddr=1.2.3.4',
    ])
      expect(problemsOf({ mountOptions: [option] }).length, JSON.stringify(option)).toBe(1)
  })

  it('refuses invalid values', () => {
    for (const option of [
      'vers=5',
      'vers=',
      'proto=udp',
      'timeo=0',
      'timeo=abc',
      'retrans=-1',
      'nconnect=17',
      'rsize=512',
      'port=65536',
      'sec=none',
      'lookupcache=maybe',
      'actimeo=1e3',
    ])
      expect(problemsOf({ mountOptions: [option] }), option).toEqual([
        expect.stringMatching(/has an invalid value$/),
      ])
  })

  it('refuses duplicates and contradictions', () => {
    expect(problemsOf({ mountOptions: ['ro', 'rw'] })).toEqual([
      'mount options ro and rw contradict',
    ])
    expect(problemsOf({ mountOptions: ['soft', 'hard'] })).toHaveLength(1)
    expect(problemsOf({ mountOptions: ['vers=3', 'nfsvers=4'] })).toHaveLength(1)
    expect(problemsOf({ mountOptions: ['tcp', 'proto=rdma'] })).toHaveLength(1)
    expect(problemsOf({ mountOptions: ['timeo=10', 'timeo=20'] })).toEqual([
      'mount option timeo is given twice',
    ])
    expect(
      problemsOf({ mountOptions: Array.from({ length: 33 }, () => 'ro') }).length,
    ).toBeGreaterThan(0)
  })

  it('refuses hostile servers', () => {
    for (const server of [
      '',
      '-oProxyCommand=sh',
      '-h',
      'nas lan',
      'nas\tlan',
      'nas\nlan',
      'nas\u0000',
      'nas:/etc',
      'nas/x',
      'user@nas',
      '[10.0.0.1]',
      'a'.repeat(64),
      'nas_lan',
      '$(reboot)',
    ])
      expect(problemsOf({ server }), JSON.stringify(server)).toEqual([
        expect.stringMatching(/^server /),
      ])
  })

  it('refuses hostile or relative exports and mount points', () => {
    for (const exp of [
      'srv/templates',
      '-o',
      '/srv/../etc',
      '/srv/./x',
      '/srv//x',
      '/srv/with space',
      '/srv/new\nline',
      '/srv/\u0085',
      `/${'x'.repeat(1024)}`,
      '',
    ])
      expect(problemsOf({ export: exp }), JSON.stringify(exp)).toEqual([
        expect.stringMatching(/^export /),
      ])
    for (const mountPoint of ['/', 'mnt', '/mnt/../etc', '/mnt/a b', '/mnt/\u0000', '-'])
      expect(problemsOf({ mountPoint }).length, JSON.stringify(mountPoint)).toBeGreaterThan(0)
  })

  it('lists every problem at once', () => {
    expect(problemsOf({ server: '-x', export: 'rel', mountOptions: ['exec', 'ro', 'rw'] })).toEqual(
      [
        'server must be a host name or an IP address',
        'export must be an absolute path',
        'mount option exec is not allowed',
        'mount options ro and rw contradict',
      ],
    )
  })

  it('never names an unsafe option in its message', () => {
    const [issue] = problemsOf({ mountOptions: ['x\u001b[31m=1'] })
    expect(issue).toBe('mount option an option is not allowed')
  })
})

describe('buildUnmountCommand', () => {
  it('builds umount <mountPoint>, validated', () => {
    expect(buildUnmountCommand('/mnt/t/')).toEqual(['umount', '/mnt/t'])
    for (const bad of ['/', 'mnt', '/a/../b', '/a b'])
      expect(() => buildUnmountCommand(bad), bad).toThrow(
        expect.objectContaining({ code: 'bad_request' }),
      )
  })
})
