import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { isPStorageError } from '@pstorage/core'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSshCommandRunner, type SshCommandRunner } from '../src/ssh-runner.js'
import { startTargetHost, type TargetHost } from '../src/testing.js'

const execFileP = promisify(execFile)

let host: TargetHost
let runner: SshCommandRunner

beforeAll(async () => {
  host = await startTargetHost()
  runner = createSshCommandRunner({ ...host.ssh, commandTimeoutMs: 10_000 })
})
afterAll(async () => {
  await runner?.close()
  await host?.stop()
})

async function failure(promise: Promise<unknown>) {
  const e = await promise.then(
    () => undefined,
    (x: unknown) => x,
  )
  expect(e, 'expected an error').toBeDefined()
  return e as Error & { code?: string; details?: Record<string, unknown> }
}

describe('createSshCommandRunner', () => {
  it('runs argv on the host through its login shell, exactly', async () => {
    const argv = ["it's", '$(id)', '`id`', 'a;b', 'a\nb', '', '*', '~', '\u00e9\u{1f600}']
    const { code, stdout } = await runner.run(['printf', '%s\\0', ...argv])
    expect(code).toBe(0)
    expect(stdout.split('\0').slice(0, -1)).toEqual(argv)
  })

  it('keeps any argv intact over SSH (fast-check, real sshd)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => s.replaceAll('\0', '')),
          { minLength: 1, maxLength: 5 },
        ),
        async (args) => {
          const { stdout } = await runner.run(['printf', '%s\\0', ...args])
          expect(stdout.split('\0').slice(0, -1)).toEqual(args)
        },
      ),
      { numRuns: 40 },
    )
  })

  it('reports the host key fingerprint as ssh-keygen prints it', async () => {
    await runner.connect()
    const pub = join(host.configDir, '..', 'ssh_host_ed25519_key.pub')
    const { stdout } = await execFileP('ssh-keygen', ['-l', '-E', 'sha256', '-f', pub])
    expect(stdout.split(' ')[1]).toBe(runner.seenFingerprint)
    expect(runner.seenFingerprint).toBe(host.ssh.hostKeyFingerprint)
    expect(runner.target).toBe(`ssh://root@127.0.0.1:${host.ssh.port}`)
  })

  it('feeds stdin, reports exit codes and stderr without throwing', async () => {
    expect((await runner.run(['cat'], { stdin: 'line 1\nline 2\n' })).stdout).toBe(
      'line 1\nline 2\n',
    )
    expect(await runner.run(['sh', '-c', 'echo oops >&2; exit 7'])).toEqual({
      code: 7,
      stdout: '',
      stderr: 'oops\n',
    })
    expect((await runner.run(['/nonexistent/tgtadm'])).code).toBe(127)
  })

  it('reuses one connection for concurrent commands', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () => runner.run(['sh', '-c', 'echo $SSH_CONNECTION'])),
    )
    expect(results.every((r) => r.code === 0)).toBe(true)
    // One TCP connection: the same client address and port for every channel.
    expect(new Set(results.map((r) => r.stdout)).size).toBe(1)
  })

  it('times out a command locally and kills it on the host', async () => {
    const marker = `pstorage-timeout-${process.pid}-${Date.now()}`
    const e = await failure(runner.run(['sh', '-c', `sleep 30; : ${marker}`], { timeoutMs: 1500 }))
    expect(e.code).toBe('service_unavailable')
    expect(e.message).toMatch(/timed out after 1500 ms/)
    // The host-side `timeout` ends it within its 1 s budget (+ the kill grace).
    await new Promise((r) => setTimeout(r, 1500))
    const { stdout } = await execFileP('ps', ['-eo', 'args'])
    expect(stdout).not.toContain(marker)
    expect((await runner.run(['true'])).code).toBe(0)
  })

  it('kills a command whose output passes the cap', async () => {
    const small = createSshCommandRunner({ ...host.ssh, maxOutputBytes: 4096 })
    try {
      const e = await failure(small.run(['head', '-c', '1000000', '/dev/zero']))
      expect(e.code).toBe('internal_error')
      expect((await small.run(['echo', 'still usable'])).stdout).toBe('still usable\n')
    } finally {
      await small.close()
    }
  })

  it('reconnects after the connection drops', async () => {
    const r = createSshCommandRunner({ ...host.ssh, remoteTimeout: false })
    try {
      // Kill this connection's sshd session process from inside it.
      const killed = await failure(r.run(['sh', '-c', 'kill -9 $PPID; sleep 5']))
      expect(killed.code).toBe('service_unavailable')
      expect((await r.run(['echo', 'back'])).stdout).toBe('back\n')
    } finally {
      await r.close()
    }
  })

  it('refuses a host key that does not match the pinned fingerprint, naming the one seen', async () => {
    const wrong = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
    const r = createSshCommandRunner({ ...host.ssh, hostKeyFingerprint: wrong })
    try {
      const e = await failure(r.run(['touch', join(host.backingDir, 'must-not-exist')]))
      expect(e.code).toBe('service_unavailable')
      expect(e.message).toContain(`saw ${host.ssh.hostKeyFingerprint}`)
      expect(e.details).toEqual({ expected: wrong, seen: host.ssh.hostKeyFingerprint })
      expect(r.seenFingerprint).toBe(host.ssh.hostKeyFingerprint)
      const { stdout } = await execFileP('ls', [host.backingDir])
      expect(stdout).toBe('')
    } finally {
      await r.close()
    }
  })

  it('accepts an unpinned host key and exposes it (trust on first use)', async () => {
    const { hostKeyFingerprint: _, ...unpinned } = host.ssh
    const r = createSshCommandRunner(unpinned)
    try {
      await r.connect()
      expect(r.seenFingerprint).toBe(host.ssh.hostKeyFingerprint)
    } finally {
      await r.close()
    }
  })

  it('fails cleanly with a key the host does not know', async () => {
    const other = join(host.configDir, '..', 'other_key')
    await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other])
    const { readFile } = await import('node:fs/promises')
    const privateKey = await readFile(other, 'utf8')
    const r = createSshCommandRunner({ ...host.ssh, privateKey })
    try {
      const e = await failure(r.run(['true']))
      expect(e.code).toBe('service_unavailable')
      expect(e.message).toMatch(/authentication as root on 127\.0\.0\.1:\d+ failed/)
      expect(JSON.stringify([e.message, e.details])).not.toContain('PRIVATE KEY')
    } finally {
      await r.close()
    }
  })

  it('fails cleanly when nothing listens, and on an unusable key', async () => {
    const closedPort = createSshCommandRunner({ ...host.ssh, port: 1, readyTimeoutMs: 3000 })
    expect((await failure(closedPort.run(['true']))).code).toBe('service_unavailable')
    await closedPort.close()
    const garbage = createSshCommandRunner({ ...host.ssh, privateKey: 'not a key' })
    expect((await failure(garbage.run(['true']))).code).toBe('bad_request')
    await garbage.close()
  })

  it('prefixes sudo -n -- when configured, except for commands that opt out', async () => {
    // This host has no sudo: the prefix shows as sudo's "not found" (127) from the shell.
    await writeFile(join(host.backingDir, 'probe.txt'), 'x')
    const r = createSshCommandRunner({ ...host.ssh, sudo: true, remoteTimeout: false })
    try {
      const elevated = await r.run(['cat', join(host.backingDir, 'probe.txt')])
      expect(elevated.code).toBe(127)
      expect(elevated.stderr).toMatch(/sudo/)
      const plain = await r.run(['cat', join(host.backingDir, 'probe.txt')], { sudo: false })
      expect(plain).toMatchObject({ code: 0, stdout: 'x' })
    } finally {
      await r.close()
    }
  })

  it('validates its options and argv', async () => {
    expect(() => createSshCommandRunner({ ...host.ssh, hostKeyFingerprint: 'aa:bb' })).toThrow(
      /SHA256/,
    )
    const { privateKey: _, ...noAuth } = host.ssh
    expect(() => createSshCommandRunner(noAuth)).toThrow(/privateKey or a password/)
    expect(isPStorageError(await runner.run(['a\0']).catch((x) => x), 'bad_request')).toBe(true)
    expect(isPStorageError(await runner.run([]).catch((x) => x), 'bad_request')).toBe(true)
  })

  it('refuses use after close; close is idempotent', async () => {
    const r = createSshCommandRunner({ ...host.ssh })
    await r.run(['true'])
    await r.close()
    await r.close()
    expect((await failure(r.run(['true']))).code).toBe('service_unavailable')
  })
})
