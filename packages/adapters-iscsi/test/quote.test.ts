import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { isPStorageError } from '@pstorage/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { quoteArg, shellQuote } from '../src/quote.js'

const execFileP = promisify(execFile)

/** What a real `sh -c '<line>'` hands to printf, one NUL-terminated element per argument. */
async function argvSeenBySh(argv: readonly string[]): Promise<string[]> {
  const line = `printf '%s\\0' ${shellQuote(argv)}`
  const { stdout } = await execFileP('/bin/sh', ['-c', line], {
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  })
  const parts = stdout.toString('utf8').split('\0')
  expect(parts.pop()).toBe('')
  return parts
}

/** Any string without NUL: full unicode, plus the characters a shell cares about most. */
const hostile = fc
  .oneof(
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({
      unit: fc.constantFrom(
        "'",
        '"',
        '\\',
        '$',
        '`',
        '(',
        ')',
        ';',
        '&',
        '|',
        '<',
        '>',
        '*',
        '?',
        '[',
        ']',
        '{',
        '}',
        '~',
        '#',
        '!',
        '=',
        '%',
        ' ',
        '\t',
        '\n',
        '\r',
        '-',
        'a',
        'é',
        '😀',
        '\u202e',
        '\u0085',
        '\u0001',
        '\u007f',
      ),
      maxLength: 40,
    }),
    fc.constantFrom(
      '$(id)',
      '`id`',
      "'; rm -rf / #",
      '"$HOME"',
      '$((1+1))',
      ['$', '{IFS}'].join(''),
      '-n',
      '--',
      '',
    ),
  )
  .map((s) => s.replaceAll('\0', ''))

describe('shellQuote', () => {
  it('makes sh -c receive exactly the original argv, for any strings (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 8 }), async (argv) => {
        expect(await argvSeenBySh(argv)).toEqual(argv)
      }),
      { numRuns: 300 },
    )
  })

  it('round-trips the examples of security.md', async () => {
    const argv = ["it's", '$(reboot)', '`reboot`', 'a;b', 'a\nb', '', '-rf', "'\\''"]
    expect(await argvSeenBySh(argv)).toEqual(argv)
    expect(shellQuote(['a', "it's"])).toBe(`'a' 'it'\\''s'`)
  })

  it('refuses NUL, which no C string can carry, and empty argv', () => {
    for (const fn of [() => quoteArg('a\0b'), () => shellQuote(['ok', '\0']), () => shellQuote([])])
      try {
        fn()
        expect.unreachable()
      } catch (e) {
        expect(isPStorageError(e, 'bad_request')).toBe(true)
      }
  })
})
