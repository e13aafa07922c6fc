import { describe, expect, it } from 'vitest'
import { isPStorageError } from '../errors.js'
import { assertBackingFileName, assertLunName } from './names.js'

const refused = (fn: () => void) => {
  try {
    fn()
    return false
  } catch (e) {
    return isPStorageError(e, 'bad_request')
  }
}

describe('assertLunName', () => {
  it('accepts the allow-list', () => {
    for (const name of ['a', 'vol1', 'vol_1-b', '0', 'a'.repeat(64)]) assertLunName(name)
  })

  it('refuses everything else', () => {
    for (const name of [
      '',
      'A',
      '-a',
      '_a',
      'a'.repeat(65),
      'a.b',
      'a b',
      "a'b",
      'a;b',
      '$(id)',
      'a\nb',
      'é',
      42,
    ])
      expect(
        refused(() => assertLunName(name)),
        JSON.stringify(name),
      ).toBe(true)
  })
})

describe('assertBackingFileName', () => {
  it('accepts a stem with an optional short extension', () => {
    for (const name of ['vol1', 'vol1.img', 'a_b-c.raw', `${'a'.repeat(64)}.abcdefgh`])
      assertBackingFileName(name)
  })

  it('refuses paths, dot names, hidden files and shell syntax', () => {
    for (const name of [
      '..',
      '.',
      '.img',
      '../vol1.img',
      'a/b.img',
      '/etc/passwd',
      'vol1.img/',
      'vol1..img',
      'vol1.img.bak',
      'vol1.IMG',
      'vol1.abcdefghi',
      'vol 1.img',
      'vol1.img;rm',
      '$(id).img',
      'vol1\n.img',
      '',
    ])
      expect(
        refused(() => assertBackingFileName(name)),
        JSON.stringify(name),
      ).toBe(true)
  })
})
