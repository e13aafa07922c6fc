import { describe, expect, it } from 'vitest'
import { indexFormatOf, parseDirectoryIndex, parseHtmlIndex, parseJsonIndex } from '../src/index.js'
import { APACHE_PLAIN, APACHE_PRE, APACHE_TABLE, NGINX_ROUNDED } from './fixtures.js'

const at = (iso: string) => new Date(iso)

describe('parseHtmlIndex', () => {
  it('reads Apache 2.4 FancyIndexing tables: dirs, exact small sizes, times, ./ and &amp;', () => {
    expect(parseHtmlIndex(APACHE_TABLE)).toEqual([
      { name: 'old releases', type: 'directory', modified: at('2024-03-01T09:12:00Z') },
      { name: 'SHA256SUMS', type: 'file', size: 512, modified: at('2024-02-10T08:01:00Z') },
      // `207M`, ` 13K`, `1.2G` are rounded: no size, so the driver asks with HEAD.
      { name: 'alpine-3.19.1-x86_64.iso', type: 'file', modified: at('2024-01-26T14:05:00Z') },
      { name: 'café R&D.txt', type: 'file', modified: at('2024-02-11T17:30:00Z') },
      { name: 'debian-12.qcow2', type: 'file', modified: at('2024-02-10T08:00:00Z') },
      { name: 'notes:v2.txt', type: 'file', size: 0, modified: at('2024-02-12T06:45:00Z') },
    ])
  })

  it('reads Apache <pre> indexes, taking names from hrefs, not the cut link text', () => {
    expect(parseHtmlIndex(APACHE_PRE)).toEqual([
      { name: 'cloud', type: 'directory', modified: at('2023-11-02T10:00:00Z') },
      { name: 'fedora-cloud-base-39.raw.xz', type: 'file', modified: at('2023-11-02T10:04:00Z') },
      { name: 'README.txt', type: 'file', size: 745, modified: at('2023-10-30T21:17:00Z') },
      { name: 'a+b [1].img', type: 'file', modified: at('2023-10-30T21:18:00Z') },
    ])
  })

  it('reads Apache plain <ul> lists, which state neither size nor time', () => {
    expect(parseHtmlIndex(APACHE_PLAIN)).toEqual([
      { name: 'windows server', type: 'directory' },
      { name: 'ubuntu-24.04.vhdx', type: 'file' },
      { name: '日本.iso', type: 'file' },
    ])
  })

  it('reads nginx indexes with exact or rounded sizes and long names', () => {
    expect(parseHtmlIndex(NGINX_ROUNDED)).toEqual([
      { name: 'isos', type: 'directory', modified: at('2026-11-22T17:54:00Z') },
      // `a:b.txt` is skipped: `a:` is a drive-relative path to normalizeBackendPath.
      { name: 'ab:c.txt', type: 'file', size: 2, modified: at('2026-11-22T17:54:00Z') },
      { name: 'big.img', type: 'file', modified: at('2026-11-22T17:55:00Z') },
      { name: 'x'.repeat(80), type: 'file', size: 9999, modified: at('2026-11-22T17:54:00Z') },
    ])
  })

  it('skips every link that is not a direct, addressable child', () => {
    const hrefs = [
      '../',
      '/',
      '/etc/passwd',
      '?C=N;O=D',
      'a.txt?download=1',
      '#top',
      'http://evil.example/x',
      '//evil.example/x',
      'javascript:alert(1)',
      'mailto:a@b',
      'a/b',
      '..',
      '%2e%2e/',
      '..%2f',
      'a%2fb',
      '%252e%252e', // decoded once to `%2e%2e`, which stays refused: never decode twice
      '%c0%ae%c0%ae', // overlong UTF-8
      '%ff',
      'a%00b',
      'a%0ab',
      'a%5cb',
      'a\\b',
      'cafe%CC%81', // NFD: the API could not address it
      '%EF%BC%8E%EF%BC%8E', // fullwidth ．．
      'C:',
      '',
      ' ',
    ]
    const html = hrefs.map((h) => `<a href="${h}">x</a>  21-Jan-2024 10:15  5\n`).join('')
    expect(parseHtmlIndex(`${html}<a href="ok.txt">ok</a>`)).toEqual([
      { name: 'ok.txt', type: 'file' },
    ])
  })

  it('reads quoting variants and merges duplicate links (IconsAreLinks)', () => {
    const html = [
      `<A HREF='single.txt'>s</A> 2024-01-02 03:04  7`,
      `<a class="x" href=bare.txt title="t">b</a>`,
      `<a href="dup.iso"><img src="/icons/iso.gif" alt="[ISO]"></a> <a href="dup.iso">dup.iso</a> 2024-01-02 03:04  42`,
      `<a href="&#x61;&#98;.txt">ab</a>`,
    ].join('\n')
    expect(parseHtmlIndex(html)).toEqual([
      { name: 'single.txt', type: 'file', size: 7, modified: at('2024-01-02T03:04:00Z') },
      { name: 'bare.txt', type: 'file' },
      { name: 'dup.iso', type: 'file', size: 42, modified: at('2024-01-02T03:04:00Z') },
      { name: 'ab.txt', type: 'file' },
    ])
  })

  it('never reads metadata from the link text or another row', () => {
    const html = `<a href="2024-01-01%2010%3A00%2099">2024-01-01 10:00 99</a>\n<a href="b">b</a> 2024-05-06 07:08 5`
    expect(parseHtmlIndex(html)).toEqual([
      { name: '2024-01-01 10:00 99', type: 'file' },
      { name: 'b', type: 'file', size: 5, modified: at('2024-05-06T07:08:00Z') },
    ])
  })

  it('refuses impossible dates and keeps lighttpd seconds', () => {
    const html = `<a href="a">a</a> 31-Feb-2024 10:15  1\n<a href="b">b</a> 2024-Jan-21 10:15:33 2`
    expect(parseHtmlIndex(html)).toEqual([
      { name: 'a', type: 'file', size: 1 },
      { name: 'b', type: 'file', size: 2, modified: at('2024-01-21T10:15:33Z') },
    ])
  })

  it('stays linear on hostile markup (unclosed tags, many anchors)', () => {
    const started = performance.now()
    expect(parseHtmlIndex('<a '.repeat(500_000))).toEqual([])
    expect(parseHtmlIndex(`<a href="x" ${'y'.repeat(2_000_000)}`)).toEqual([])
    expect(parseHtmlIndex('<a href="n">n</a>'.repeat(100_000))).toHaveLength(1)
    expect(performance.now() - started).toBeLessThan(2000) // quadratic scans took > 6 s
  })
})

describe('parseJsonIndex', () => {
  it('reads nginx autoindex_format json', () => {
    const json = `[
{ "name":"d", "type":"directory", "mtime":"Sun, 22 Nov 2026 17:54:18 GMT" },
{ "name":"a:b.txt", "type":"file", "mtime":"Sun, 22 Nov 2026 17:54:18 GMT", "size":1 },
{ "name":"ab:c.txt", "type":"file", "mtime":"Sun, 22 Nov 2026 17:54:18 GMT", "size":2 },
{ "name":"sp ace&<q>\\"#?%.txt", "type":"file", "mtime":"Sun, 22 Nov 2026 17:54:18 GMT", "size":12 }
]`
    const mtime = at('2026-11-22T17:54:18Z')
    expect(parseJsonIndex(json)).toEqual([
      { name: 'd', type: 'directory', modified: mtime },
      { name: 'ab:c.txt', type: 'file', size: 2, modified: mtime }, // not a:b.txt (drive letter)
      { name: 'sp ace&<q>"#?%.txt', type: 'file', size: 12, modified: mtime },
    ])
  })

  it('skips entries it cannot trust and keeps odd but valid names', () => {
    const json = JSON.stringify([
      { name: '..', type: 'directory' },
      { name: 'a/b', type: 'file', size: 1 },
      { name: 'cafe\u0301', type: 'file', size: 1 },
      { name: 'link', type: 'other' },
      { name: 7, type: 'file' },
      null,
      'x',
      { name: 'neg', type: 'file', size: -1, mtime: 'not a date' },
      { name: 'frac', type: 'file', size: 1.5 },
      { name: '__proto__', type: 'file', size: 3 },
      { name: 'dup', type: 'file', size: 1 },
      { name: 'dup', type: 'directory' },
    ])
    expect(parseJsonIndex(json)).toEqual([
      { name: 'neg', type: 'file' },
      { name: 'frac', type: 'file' },
      { name: '__proto__', type: 'file', size: 3 },
      { name: 'dup', type: 'file', size: 1 },
    ])
  })

  it('refuses a body that is not a JSON array with service_unavailable', () => {
    for (const text of ['{}', 'not json', '"x"', ''])
      expect(() => parseJsonIndex(text)).toThrow(
        expect.objectContaining({ code: 'service_unavailable' }),
      )
  })
})

describe('indexFormatOf', () => {
  it('detects the format by Content-Type', () => {
    expect(indexFormatOf('application/json')).toBe('json')
    expect(indexFormatOf('application/json; charset=utf-8')).toBe('json')
    expect(indexFormatOf('text/html;charset=UTF-8')).toBe('html')
    expect(indexFormatOf(null)).toBe('html')
    expect(indexFormatOf('text/xml')).toBeUndefined()
    expect(indexFormatOf('text/plain')).toBeUndefined()
    expect(parseDirectoryIndex('json', '[]')).toEqual([])
  })
})
