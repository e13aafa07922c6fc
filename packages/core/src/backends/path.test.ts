import { describe, expect, it } from 'vitest'
import { isPStorageError } from '../errors.js'
import {
  baseName,
  isAddressableName,
  MAX_PATH_BYTES,
  normalizeBackendPath,
  parentPath,
  pathSegments,
  toApiPath,
} from './path.js'
import { CONFINED_CASES, TRAVERSAL_CASES } from './traversal-cases.js'

function refusal(input: string): string | undefined {
  try {
    normalizeBackendPath(input)
    return undefined
  } catch (error) {
    expect(isPStorageError(error, 'bad_request')).toBe(true)
    return (error as { details?: { reason?: string } }).details?.reason
  }
}

describe('normalizeBackendPath', () => {
  it.each(TRAVERSAL_CASES.map((c) => [c.note, c.path, c.reason] as const))(
    'refuses %s',
    (_note, path, reason) => {
      expect(refusal(path)).toBe(reason)
      expect(refusal(`/${path}`)).toBeDefined() // with the API's leading slash too
      expect(refusal(`ok/${path}`)).toBeDefined() // and below a harmless directory
    },
  )

  it.each(CONFINED_CASES.map((c) => [c.path, c.normalized] as const))(
    'confines %j to the root as %j',
    (path, normalized) => {
      expect(normalizeBackendPath(path)).toBe(normalized)
    },
  )

  it('maps the API root forms to the empty path', () => {
    expect(normalizeBackendPath('/')).toBe('')
    expect(normalizeBackendPath('')).toBe('')
    expect(refusal('//')).toBe('absolute')
  })

  it('strips exactly one leading and one trailing slash', () => {
    expect(normalizeBackendPath('/a/b/')).toBe('a/b')
    expect(normalizeBackendPath('a/b')).toBe('a/b')
    expect(refusal('a/b//')).toBe('empty_segment')
  })

  it('normalises NFD to NFC, so both spellings name one file', () => {
    const nfd = 'Cafe\u0301/Ma\u0308rz.txt'
    expect(normalizeBackendPath(nfd)).toBe('Caf\u00e9/M\u00e4rz.txt')
    expect(normalizeBackendPath(nfd)).toBe(normalizeBackendPath(nfd.normalize('NFC')))
  })

  it('measures limits in UTF-8 bytes of the NFC form', () => {
    expect(normalizeBackendPath('x'.repeat(255))).toHaveLength(255)
    expect(normalizeBackendPath('\u00e9'.repeat(127))).toHaveLength(127) // 254 bytes
    // 200 NFD characters are 300 bytes, but their NFC form is 200 bytes: allowed.
    expect(normalizeBackendPath('e\u0301'.repeat(100))).toBe('\u00e9'.repeat(100))
    const longest = Array.from({ length: 16 }, () => 'y'.repeat(255)).join('/') // 4095 bytes
    expect(normalizeBackendPath(longest).length).toBe(4095)
    expect(refusal(`${longest}/z`)).toBe('path_too_long')
    expect(refusal('a'.repeat(4 * MAX_PATH_BYTES))).toBe('path_too_long')
  })

  it('keeps legitimate names: spaces, unicode, dots inside names, lone %', () => {
    for (const p of [
      'my file.txt',
      '.bashrc',
      'a..b',
      'v1.2.3',
      '日本語/ファイル.iso',
      '😀',
      '50%',
    ])
      expect(normalizeBackendPath(p)).toBe(p)
    expect(normalizeBackendPath('backup 10:30.tar')).toBe('backup 10:30.tar')
  })

  it('never echoes the input in the error message (log injection)', () => {
    try {
      normalizeBackendPath('evil\n[INFO] forged')
      expect.unreachable()
    } catch (error) {
      expect((error as Error).message).not.toContain('forged')
    }
  })

  it('refuses every NFKC fold that turns a name into a traversal, over all of Unicode', () => {
    // Any single code point whose NFKC form contains a separator or is only dots must be refused.
    const missed: string[] = []
    for (let c = 0x80; c < 0x30000; c++) {
      if (c >= 0xd800 && c < 0xe000) continue
      const ch = String.fromCodePoint(c)
      const k = ch.normalize('NFKC')
      if ((/[/\\]/.test(k) || /^\.+$/.test(k)) && refusal(ch) === undefined)
        missed.push(c.toString(16))
    }
    expect(missed).toEqual([])
  })
})

describe('path helpers', () => {
  it('splits and joins normalised paths', () => {
    expect(pathSegments('')).toEqual([])
    expect(pathSegments('a/b')).toEqual(['a', 'b'])
    expect(parentPath('a/b/c')).toBe('a/b')
    expect(parentPath('a')).toBe('')
    expect(baseName('a/b/c.txt')).toBe('c.txt')
    expect(baseName('')).toBe('')
    expect(toApiPath('')).toBe('/')
    expect(toApiPath('a/b')).toBe('/a/b')
  })

  it('tells addressable names from those the API cannot reach', () => {
    expect(isAddressableName('report.pdf')).toBe(true)
    expect(isAddressableName('cafe\u0301')).toBe(false)
    expect(isAddressableName('a%2fb')).toBe(false)
    expect(isAddressableName('..')).toBe(false)
    expect(isAddressableName('')).toBe(false)
  })
})
