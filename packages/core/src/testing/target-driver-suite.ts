import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isPStorageError } from '../errors.js'
import { generateChapSecret } from '../iscsi/chap.js'
import { generateIqn } from '../iscsi/iqn.js'
import type {
  CreateLunInput,
  PortalAddress,
  TargetDriver,
  TargetState,
} from '../ports/target-driver.js'

/** Options of {@link runTargetDriverSuite}. */
export interface TargetDriverSuiteOptions {
  /** Suite title. */
  readonly name: string
  /**
   * Makes a driver for each test. The host may hold other targets; the suite only touches
   * IQNs under `iqn.<yyyy-mm>.suite.pstorage:` and deletes its own after each test.
   */
  readonly create: () => Promise<TargetDriver>
  /** The portal `createLun` passes: one the host can listen on. */
  readonly portal: PortalAddress
  /** The driver's backing directory, seen from the test behind the driver's back. */
  readonly backingFiles: {
    /** Size of `name` in the backing directory, or `null` if it does not exist. */
    size(name: string): Promise<number | null>
    /** Creates `name` with `size` bytes there (a leftover or foreign file). */
    create(name: string, size: number): Promise<void>
  }
  /** Tests (by exact title) this driver cannot pass, each with the reason. */
  readonly skip?: readonly { readonly reason: string; readonly tests: readonly string[] }[]
  /** Registers driver-specific tests inside the suite; `get()` is the current driver. */
  readonly extra?: (get: () => TargetDriver) => void
  /** Called after each test, once the suite's targets are deleted and the driver closed. */
  readonly destroy?: (driver: TargetDriver) => void | Promise<void>
}

const MiB = 1024 * 1024

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  )
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<unknown> {
  const error = await errorOf(promise)
  expect(error, `expected a ${code} error`).toBeDefined()
  expect(isPStorageError(error) ? error.code : error).toBe(code)
  return error
}

/** Everything an error carries that could reach a client or a log. */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const details = (error as { details?: unknown }).details
  return JSON.stringify([error.message, details ?? null, String(error.cause ?? '')])
}

/**
 * The conformance suite of the `TargetDriver` port: every target driver runs it against a
 * host (real, or a recorded one), and it asserts exactly the contract documented on
 * `TargetDriver`.
 *
 * @example
 * ```ts
 * runTargetDriverSuite({
 *   name: 'tgt over ssh',
 *   create: async () => createTgtDriver({ runner, backingDir }),
 *   portal: { address: '127.0.0.1', port: host.tgtdPort },
 *   backingFiles: { size: (n) => sizeOf(join(backingDir, n)), create: makeFile },
 * })
 * ```
 */
export function runTargetDriverSuite(options: TargetDriverSuiteOptions): void {
  const skipped = new Map<string, string>()
  for (const s of options.skip ?? []) for (const t of s.tests) skipped.set(t, s.reason)
  const run = randomBytes(3).toString('hex')
  const domain = 'suite.pstorage'
  const prefix = generateIqn({ createdAt: new Date(), domain, name: 'x' }).slice(0, -1)
  let serial = 0
  const files = options.backingFiles

  describe(`TargetDriver conformance: ${options.name}`, () => {
    let driver: TargetDriver
    beforeEach(async () => {
      driver = await options.create()
    })
    afterEach(async () => {
      // Remove whatever this run created, even when a test failed half-way.
      const cleaner = await options.create()
      try {
        for (const t of await cleaner.list())
          if (t.iqn.startsWith(`${prefix}${run}-`))
            await cleaner.deleteLun({
              iqn: t.iqn,
              backingFile: t.luns[0]?.backingFile ?? `${t.iqn.slice(prefix.length)}.img`,
            })
      } finally {
        await cleaner.close()
        await driver.close().catch(() => undefined)
      }
      await options.destroy?.(driver)
    })

    function test(title: string, fn: () => Promise<void>, timeout?: number): void {
      const reason = skipped.get(title)
      if (reason) it.skip(`${title} (skipped: ${reason})`, fn)
      else it(title, fn, timeout)
    }

    /** A fresh LUN definition of this run: unique IQN and backing file. */
    function lun(overrides: Partial<CreateLunInput> = {}): CreateLunInput {
      const id = `${run}-${++serial}`
      return {
        name: `s${id}`,
        iqn: `${prefix}${id}`,
        sizeBytes: 8 * MiB,
        backingFile: `${id}.img`,
        portal: options.portal,
        ...overrides,
      }
    }
    const mine = async () =>
      (await driver.list()).filter((t) => t.iqn.startsWith(`${prefix}${run}-`))
    const find = async (iqn: string) => (await driver.list()).find((t) => t.iqn === iqn)
    const initiator = (n: string) => `iqn.2025-01.test.pstorage:${run}-${n}`

    function expectCreated(state: TargetState | undefined, input: CreateLunInput): void {
      expect(state).toBeDefined()
      expect(state!.iqn).toBe(input.iqn.toLowerCase())
      expect(state!.name === null || state!.name === input.name).toBe(true)
      expect(state!.luns).toHaveLength(1)
      const l = state!.luns[0]!
      expect(Number.isInteger(l.lun) && l.lun >= 0).toBe(true)
      expect(l.backingFile).toBe(input.backingFile)
      expect(l.backingPath.endsWith(`/${input.backingFile}`)).toBe(true)
      expect(l.sizeBytes).toBe(input.sizeBytes)
      expect(state!.portals).toContainEqual(input.portal)
      expect(state!.initiators).toEqual([])
      expect(state!.initiatorAddresses).toEqual([])
      expect(state!.chapUser).toBeNull()
    }

    describe('contract', () => {
      test('declares its name', async () => {
        expect(driver.name).toMatch(/^[a-z][a-z0-9-]*$/)
      })

      test('probes the host: version and space of the backing directory', async () => {
        const probe = await driver.probe()
        expect(probe.manager).toBe(driver.name)
        expect(probe.version).toMatch(/\d/)
        expect(probe.backingDir.startsWith('/')).toBe(true)
        expect(Number.isSafeInteger(probe.freeBytes) && probe.freeBytes >= 0).toBe(true)
        expect(probe.totalBytes).toBeGreaterThanOrEqual(probe.freeBytes)
      })

      test('refuses use after close with service_unavailable; close is idempotent', async () => {
        await driver.close()
        await driver.close()
        await rejectsWith(driver.list(), 'service_unavailable')
        await rejectsWith(driver.createLun(lun()), 'service_unavailable')
        await rejectsWith(driver.probe(), 'service_unavailable')
      })
    })

    describe('createLun', () => {
      test('creates a target serving a sparse backing file of the requested size', async () => {
        const input = lun()
        const created = await driver.createLun(input)
        expectCreated(created, input)
        expectCreated(await find(input.iqn), input)
        expect(await files.size(input.backingFile)).toBe(input.sizeBytes)
      })

      test('repeats a createLun without change', async () => {
        const input = lun()
        const first = await driver.createLun(input)
        const again = await driver.createLun(input)
        expect(again).toEqual(first)
        expect((await mine()).map((t) => t.iqn)).toEqual([input.iqn])
      })

      test('stores the IQN lowercase and matches it in any case', async () => {
        const input = lun()
        const upper = { ...input, iqn: input.iqn.toUpperCase() }
        expect((await driver.createLun(upper)).iqn).toBe(input.iqn)
        expect((await driver.createLun(input)).iqn).toBe(input.iqn)
        await driver.allowInitiator({ iqn: upper.iqn, initiatorIqn: initiator('A').toUpperCase() })
        expect((await find(input.iqn))?.initiators).toEqual([initiator('a')])
        expect((await mine()).map((t) => t.iqn)).toEqual([input.iqn])
      })

      test('refuses another definition of an existing target with conflict', async () => {
        const input = lun()
        const before = await driver.createLun(input)
        const other = lun()
        await rejectsWith(driver.createLun({ ...input, sizeBytes: 16 * MiB }), 'conflict')
        await rejectsWith(
          driver.createLun({ ...input, backingFile: other.backingFile }),
          'conflict',
        )
        await rejectsWith(
          driver.createLun({ ...other, backingFile: input.backingFile }),
          'conflict',
        )
        expect(await mine()).toEqual([before])
        expect(await files.size(other.backingFile)).toBeNull()
        expect(await files.size(input.backingFile)).toBe(input.sizeBytes)
      })

      test('refuses a backing file that already exists with another size', async () => {
        const input = lun()
        await files.create(input.backingFile, 4 * MiB)
        await rejectsWith(driver.createLun(input), 'conflict')
        expect(await find(input.iqn)).toBeUndefined()
        expect(await files.size(input.backingFile)).toBe(4 * MiB)
      })

      test('adopts a leftover backing file of the requested size', async () => {
        const input = lun()
        await files.create(input.backingFile, input.sizeBytes)
        expectCreated(await driver.createLun(input), input)
      })

      test('refuses invalid input with bad_request before touching the host', async () => {
        const base = lun()
        const hostile = ["a'b", 'a;reboot', '$(reboot)', '`reboot`', 'a\nb', 'a b', '../x', '-x']
        const cases: Partial<CreateLunInput>[] = [
          ...hostile.map((h) => ({ name: h })),
          // '-x' is a legal IQN tail; the others are not.
          ...hostile.filter((h) => h !== '-x').map((h) => ({ iqn: `${base.iqn}${h}` })),
          ...hostile.map((h) => ({ backingFile: `${h}.img` })),
          { backingFile: '../escape.img' },
          { backingFile: '/etc/passwd' },
          { backingFile: '..' },
          { backingFile: 'sub/dir.img' },
          { iqn: 'iqn.2025-13.com.example:x' },
          { iqn: `${base.iqn}${'a'.repeat(224)}` },
          { sizeBytes: 0 },
          { sizeBytes: -512 },
          { sizeBytes: 1000 },
          { sizeBytes: 1.5 * MiB + 0.5 },
          { sizeBytes: Number.NaN },
          { sizeBytes: 2 ** 60 },
          { portal: { address: 'example.com', port: 3260 } },
          { portal: { address: '127.0.0.1; reboot', port: 3260 } },
          { portal: { address: '127.0.0.1', port: 0 } },
          { portal: { address: '127.0.0.1', port: 65_536 } },
          { portal: { address: '127.0.0.1', port: 3260.5 } },
        ]
        const before = await driver.list()
        for (const c of cases) {
          const error = await rejectsWith(driver.createLun({ ...base, ...c }), 'bad_request')
          expect(errorText(error)).not.toContain('reboot')
        }
        expect(await driver.list()).toEqual(before)
        expect(await files.size(base.backingFile)).toBeNull()
      })

      test('creates LUNs concurrently', async () => {
        const inputs = [lun(), lun(), lun()]
        const results = await Promise.all([
          ...inputs.map((i) => driver.createLun(i)),
          driver.createLun(inputs[0]!),
        ])
        for (const [i, input] of inputs.entries()) expectCreated(results[i], input)
        const listed = await mine()
        expect(listed.map((t) => t.iqn)).toEqual(inputs.map((i) => i.iqn).sort())
        for (const input of inputs) expect(await files.size(input.backingFile)).toBe(8 * MiB)
      })
    })

    describe('deleteLun', () => {
      test('deletes the target and its backing file, and repeats without error', async () => {
        const keep = lun()
        const input = lun()
        await driver.createLun(keep)
        await driver.createLun(input)
        await driver.deleteLun({ iqn: input.iqn, backingFile: input.backingFile })
        expect((await mine()).map((t) => t.iqn)).toEqual([keep.iqn])
        expect(await files.size(input.backingFile)).toBeNull()
        await driver.deleteLun({ iqn: input.iqn, backingFile: input.backingFile })
        expect(await files.size(keep.backingFile)).toBe(keep.sizeBytes)
      })

      test('removes the leftover backing file of a deleted target', async () => {
        const input = lun()
        await files.create(input.backingFile, MiB)
        await driver.deleteLun({ iqn: input.iqn, backingFile: input.backingFile })
        expect(await files.size(input.backingFile)).toBeNull()
      })

      test('refuses to delete a target named with another backing file', async () => {
        const a = lun()
        const b = lun()
        await driver.createLun(a)
        await driver.createLun(b)
        await rejectsWith(driver.deleteLun({ iqn: a.iqn, backingFile: b.backingFile }), 'conflict')
        // Nor a file another target serves, even when the named target is gone.
        await rejectsWith(
          driver.deleteLun({ iqn: `${a.iqn}-gone`, backingFile: b.backingFile }),
          'conflict',
        )
        expect((await mine()).map((t) => t.iqn)).toEqual([a.iqn, b.iqn])
        expect(await files.size(a.backingFile)).toBe(a.sizeBytes)
        expect(await files.size(b.backingFile)).toBe(b.sizeBytes)
      })

      test('refuses invalid input with bad_request', async () => {
        const input = lun()
        await driver.createLun(input)
        await rejectsWith(
          driver.deleteLun({ iqn: input.iqn, backingFile: '../x.img' }),
          'bad_request',
        )
        await rejectsWith(
          driver.deleteLun({ iqn: "x'", backingFile: input.backingFile }),
          'bad_request',
        )
        expect(await find(input.iqn)).toBeDefined()
      })
    })

    describe('access', () => {
      test('admits no initiator by default; allows and denies idempotently', async () => {
        const input = lun()
        await driver.createLun(input)
        const [a, b] = [initiator('a'), initiator('b')]
        await driver.allowInitiator({ iqn: input.iqn, initiatorIqn: b })
        await driver.allowInitiator({ iqn: input.iqn, initiatorIqn: a })
        await driver.allowInitiator({ iqn: input.iqn, initiatorIqn: a })
        let state = await find(input.iqn)
        expect(state?.initiators).toEqual([a, b])
        expect(state?.initiatorAddresses).toEqual([])
        await driver.denyInitiator({ iqn: input.iqn, initiatorIqn: a })
        await driver.denyInitiator({ iqn: input.iqn, initiatorIqn: a })
        state = await find(input.iqn)
        expect(state?.initiators).toEqual([b])
        expect(state?.luns[0]?.sizeBytes).toBe(input.sizeBytes)
      })

      test('sets, replaces and clears CHAP; lists the user, never the secret', async () => {
        const input = lun()
        await driver.createLun(input)
        await driver.allowInitiator({ iqn: input.iqn, initiatorIqn: initiator('a') })
        const secret = generateChapSecret()
        await driver.setChap({ iqn: input.iqn, userid: `u${run}a`, secret })
        await driver.setChap({ iqn: input.iqn, userid: `u${run}a`, secret })
        expect((await find(input.iqn))?.chapUser).toBe(`u${run}a`)
        expect(JSON.stringify(await driver.list())).not.toContain(secret)
        // An initiator allowed after CHAP was set is covered by it too.
        await driver.allowInitiator({ iqn: input.iqn, initiatorIqn: initiator('b') })
        const replaced = generateChapSecret(12)
        await driver.setChap({ iqn: input.iqn, userid: `u${run}b`, secret: replaced })
        const state = await find(input.iqn)
        expect(state?.chapUser).toBe(`u${run}b`)
        expect(state?.initiators).toEqual([initiator('a'), initiator('b')])
        expect(JSON.stringify(await driver.list())).not.toContain(replaced)
        await driver.clearChap({ iqn: input.iqn })
        await driver.clearChap({ iqn: input.iqn })
        expect((await find(input.iqn))?.chapUser).toBeNull()
        // Deleting a target with CHAP frees its user for another target.
        await driver.setChap({ iqn: input.iqn, userid: `u${run}c`, secret })
        await driver.deleteLun({ iqn: input.iqn, backingFile: input.backingFile })
        const next = lun()
        await driver.createLun(next)
        await driver.setChap({ iqn: next.iqn, userid: `u${run}c`, secret })
        expect((await find(next.iqn))?.chapUser).toBe(`u${run}c`)
      })

      test('refuses a CHAP user bound to another target with conflict', async () => {
        const a = lun()
        const b = lun()
        await driver.createLun(a)
        await driver.createLun(b)
        const secret = generateChapSecret()
        await driver.setChap({ iqn: a.iqn, userid: `u${run}x`, secret })
        const error = await rejectsWith(
          driver.setChap({ iqn: b.iqn, userid: `u${run}x`, secret }),
          'conflict',
        )
        expect(errorText(error)).not.toContain(secret)
        expect((await find(b.iqn))?.chapUser).toBeNull()
        expect((await find(a.iqn))?.chapUser).toBe(`u${run}x`)
      })

      test('refuses CHAP values outside the policy and bad initiator names', async () => {
        const input = lun()
        await driver.createLun(input)
        const iqn = input.iqn
        for (const secret of [
          'short',
          'a'.repeat(17),
          'Abc123Def45$',
          "Abc123'Def45",
          'Abc 123Def456',
        ])
          expect(
            errorText(
              await rejectsWith(driver.setChap({ iqn, userid: 'u1', secret }), 'bad_request'),
            ),
          ).not.toContain(secret)
        for (const userid of ['', 'a b', 'a=b', "a'b"])
          await rejectsWith(
            driver.setChap({ iqn, userid, secret: generateChapSecret() }),
            'bad_request',
          )
        for (const initiatorIqn of ['node1', "iqn.2025-01.a.b:x'y", 'iqn.2025-01.a.b:$(id)'])
          await rejectsWith(driver.allowInitiator({ iqn, initiatorIqn }), 'bad_request')
        const state = await find(iqn)
        expect(state?.chapUser).toBeNull()
        expect(state?.initiators).toEqual([])
      })

      test('answers not_found for CHAP and ACL calls on an unknown target', async () => {
        const iqn = lun().iqn
        const initiatorIqn = initiator('a')
        await rejectsWith(
          driver.setChap({ iqn, userid: 'u1', secret: generateChapSecret() }),
          'not_found',
        )
        await rejectsWith(driver.clearChap({ iqn }), 'not_found')
        await rejectsWith(driver.allowInitiator({ iqn, initiatorIqn }), 'not_found')
        await rejectsWith(driver.denyInitiator({ iqn, initiatorIqn }), 'not_found')
      })
    })

    describe('listing and persistence', () => {
      test('lists targets sorted by IQN, with foreign ones', async () => {
        const inputs = [lun(), lun(), lun()].reverse()
        for (const i of inputs) await driver.createLun(i)
        const all = await driver.list()
        expect(all.map((t) => t.iqn)).toEqual(all.map((t) => t.iqn).sort())
        expect((await mine()).map((t) => t.iqn)).toEqual(inputs.map((i) => i.iqn).sort())
      })

      test('saves the configuration without changing the state', async () => {
        const input = lun()
        await driver.createLun(input)
        await driver.allowInitiator({ iqn: input.iqn, initiatorIqn: initiator('a') })
        await driver.setChap({ iqn: input.iqn, userid: `u${run}s`, secret: generateChapSecret() })
        const before = await driver.list()
        await driver.save()
        await driver.save()
        expect(await driver.list()).toEqual(before)
      })
    })

    options.extra?.(() => driver)
  })
}
