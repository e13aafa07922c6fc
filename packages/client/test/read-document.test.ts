import { describe, expect, it } from 'vitest'
import { parseReadDocument } from '../src/read-document.js'

type Read = { volume_id: string; offset: number; size: number; data: string }

const documents = [
  '{"volume_id":"v1","offset":4096,"size":3,"data":"YWJj"}',
  '{"volume_id":"v1","offset":0,"size":0,"data":""}',
  // Other key orders and whitespace: the cut still finds the value.
  '{ "data":"QUJD" , "size" : 3, "offset": 0, "volume_id": "ü-ünïcode" }',
  // Escapes elsewhere in the document do not matter.
  '{"volume_id":"a\\"b","offset":0,"size":3,"data":"YWJj"}',
  // An escape inside the value: parsed whole.
  '{"volume_id":"v","offset":0,"size":1,"data":"a\\u0041b"}',
  // A nested "data" after the real one: the emptied value is not the top-level one.
  '{"volume_id":"v","data":"YWJj","meta":{"data":"zzz"}}',
  // Duplicate keys: the last wins, as with JSON.parse.
  '{"data":"AAAA","volume_id":"v","data":"QkJC"}',
  // No data string at all.
  '{"volume_id":"v","offset":0,"size":0,"data":null}',
]

describe('parseReadDocument', () => {
  for (const text of documents) {
    it(`returns what JSON.parse returns: ${text}`, () => {
      expect(parseReadDocument<Read>(text)).toEqual(JSON.parse(text))
    })
  }

  it('keeps a large base64 value exactly', () => {
    const data = Buffer.from(Array.from({ length: 3 << 20 }, (_, i) => (i * 31) % 251)).toString(
      'base64',
    )
    const read = parseReadDocument<Read>(
      `{"volume_id":"v","offset":0,"size":${3 << 20},"data":"${data}"}`,
    )
    expect(read.data.length).toBe(data.length)
    expect(read.data === data).toBe(true)
    expect(read).toMatchObject({ volume_id: 'v', offset: 0, size: 3 << 20 })
  })

  it('throws like JSON.parse on a broken document', () => {
    for (const text of ['{"volume_id":"v","data":"YWJj"', '{"data":"YWJj",}', 'nope', '']) {
      expect(() => parseReadDocument(text)).toThrow(SyntaxError)
    }
  })
})
