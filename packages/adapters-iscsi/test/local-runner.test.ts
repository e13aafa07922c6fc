import { isPStorageError } from '@pstorage/core'
import { describe, expect, it } from 'vitest'
import { createLocalCommandRunner } from '../src/local-runner.js'

describe('createLocalCommandRunner', () => {
  const runner = createLocalCommandRunner({ commandTimeoutMs: 5000, maxOutputBytes: 1024 })

  it('passes argv without a shell', async () => {
    const argv = ['$(id)', "'", '`id`', 'a b', '']
    const { code, stdout } = await runner.run(['printf', '%s|', ...argv])
    expect(code).toBe(0)
    expect(stdout).toBe(`${argv.join('|')}|`)
  })

  it('feeds stdin and reports exit codes and stderr', async () => {
    expect((await runner.run(['cat'], { stdin: 'hello\n' })).stdout).toBe('hello\n')
    const r = await runner.run(['sh', '-c', 'echo oops >&2; exit 3'])
    expect(r).toEqual({ code: 3, stdout: '', stderr: 'oops\n' })
  })

  it('answers 127 for a missing program, as a shell would', async () => {
    expect((await runner.run(['/nonexistent/tgtadm'])).code).toBe(127)
  })

  it('kills a command past its timeout with service_unavailable', async () => {
    const started = Date.now()
    const e = await runner.run(['sleep', '10'], { timeoutMs: 200 }).catch((x) => x)
    expect(isPStorageError(e, 'service_unavailable')).toBe(true)
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it('kills a command whose output passes the cap', async () => {
    const e = await runner.run(['head', '-c', '100000', '/dev/zero']).catch((x) => x)
    expect(isPStorageError(e, 'internal_error')).toBe(true)
  })

  it('refuses NUL and empty argv before running anything', async () => {
    for (const argv of [[], [''], ['echo', 'a\0b']]) {
      const e = await runner.run(argv).catch((x) => x)
      expect(isPStorageError(e, 'bad_request')).toBe(true)
    }
  })

  it('refuses use after close', async () => {
    const r = createLocalCommandRunner()
    await r.close()
    expect(isPStorageError(await r.run(['true']).catch((x) => x), 'service_unavailable')).toBe(true)
  })
})
