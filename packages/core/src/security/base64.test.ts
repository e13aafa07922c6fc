import { describe, expect, it } from 'vitest'
import { decodeBase64, decodeBase64Url, encodeBase64Url } from './base64.js'

describe('strict base64 codecs', () => {
  it('round-trips base64url, including views into larger buffers', () => {
    const backing = Buffer.from([9, 0xfb, 0xff, 0x00, 9])
    const view = backing.subarray(1, 4)
    expect(encodeBase64Url(view)).toBe('-_8A')
    expect(decodeBase64Url('-_8A')).toEqual(Buffer.from([0xfb, 0xff, 0x00]))
  })

  it('rejects what Buffer.from would silently accept', () => {
    expect(decodeBase64Url('-_8')).toEqual(Buffer.from([0xfb, 0xff]))
    expect(decodeBase64Url('-_9')).toBeUndefined() // non-zero pad bits
    expect(decodeBase64Url('-_8=')).toBeUndefined() // padding
    expect(decodeBase64Url('+/8')).toBeUndefined() // base64 alphabet
    expect(decodeBase64Url('-_ 8')).toBeUndefined()
    expect(decodeBase64('+/8=')).toEqual(Buffer.from([0xfb, 0xff]))
    expect(decodeBase64('+/8')).toBeUndefined() // missing padding
    expect(decodeBase64('+/9=')).toBeUndefined()
    expect(decodeBase64('-_8=')).toBeUndefined()
    expect(decodeBase64('+/8=\n')).toBeUndefined()
  })

  it('checks the decoded length when asked', () => {
    expect(decodeBase64Url('AAAA', 3)).toHaveLength(3)
    expect(decodeBase64Url('AAAA', 4)).toBeUndefined()
    expect(decodeBase64('AAAA', 2)).toBeUndefined()
  })
})
