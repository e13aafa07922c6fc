import { afterEach, describe, expect, it } from 'vitest'
import { createHttpDriver } from '../src/index.js'
import { type FakeServer, startFakeServer } from './fake-server.js'
import { APACHE_PLAIN, APACHE_TABLE } from './fixtures.js'

// An Apache stand-in: the recorded index pages at directory URLs, and HEAD answers with an
// exact Content-Length and Last-Modified for the files they list, as Apache gives them.
const FILES: Record<string, { size: number; modified: string }> = {
  '/isos/alpine-3.19.1-x86_64.iso': { size: 217_055_232, modified: '2024-01-26T14:05:09Z' },
  '/isos/caf%C3%A9%20R%26D.txt': { size: 13_311, modified: '2024-02-11T17:30:59Z' },
  '/isos/debian-12.qcow2': { size: 1_288_490_189, modified: '2024-02-10T08:00:01Z' },
  '/templates/ubuntu-24.04.vhdx': { size: 4_194_304, modified: '2024-04-25T12:00:00Z' },
  '/templates/%E6%97%A5%E6%9C%AC.iso': { size: 2048, modified: '2024-04-26T12:00:00Z' },
}
const DATE = 'Tue, 02 Jul 2024 10:00:00 GMT'

let server: FakeServer | undefined
afterEach(async () => {
  await server?.close()
})

async function apache(): Promise<FakeServer> {
  server = await startFakeServer((req, res) => {
    const html = { 'content-type': 'text/html;charset=UTF-8', date: DATE }
    if (req.url === '/isos/') return res.writeHead(200, html).end(APACHE_TABLE)
    if (req.url === '/templates/') return res.writeHead(200, html).end(APACHE_PLAIN)
    const file = FILES[req.url ?? '']
    if (file && req.method === 'HEAD')
      return res
        .writeHead(200, {
          'content-length': String(file.size),
          'last-modified': new Date(file.modified).toUTCString(),
        })
        .end()
    res.writeHead(404).end()
  })
  return server
}

describe('Apache mod_autoindex through the driver', () => {
  it('lists a FancyIndexing table, completing rounded sizes with HEAD', async () => {
    const s = await apache()
    const driver = createHttpDriver({ url: `${s.url}isos/`, maxItemCounts: 0 })
    const { items } = await driver.list('/')
    expect(items.map((i) => [i.path, i.type, i.size, i.modified_at])).toEqual([
      ['/old releases', 'directory', null, '2024-03-01T09:12:00.000Z'],
      ['/SHA256SUMS', 'file', 512, '2024-02-10T08:01:00.000Z'],
      ['/alpine-3.19.1-x86_64.iso', 'file', 217_055_232, '2024-01-26T14:05:09.000Z'],
      ['/café R&D.txt', 'file', 13_311, '2024-02-11T17:30:59.000Z'],
      ['/debian-12.qcow2', 'file', 1_288_490_189, '2024-02-10T08:00:01.000Z'],
      ['/notes:v2.txt', 'file', 0, '2024-02-12T06:45:00.000Z'],
    ])
    // Exact sizes (`512`, `0`) cost no request; each rounded one (`207M`, `13K`, `1.2G`) one HEAD.
    const heads = s.requests.filter((r) => r.method === 'HEAD').map((r) => r.url)
    expect(heads.sort()).toEqual(
      Object.keys(FILES)
        .filter((k) => k.startsWith('/isos/'))
        .sort(),
    )
    expect(items[3]!.mime_type).toBe('text/plain')
    expect(items[2]!.mime_type).toBe('application/x-iso9660-image')
    // stat reads the same index, so it agrees with list.
    expect(await driver.stat('/debian-12.qcow2')).toEqual(items[4])
  })

  it('lists a plain <ul> index: HEAD for every file, the response Date for directories', async () => {
    const s = await apache()
    const driver = createHttpDriver({ url: `${s.url}templates/` })
    const { items } = await driver.list('/')
    expect(items).toEqual([
      {
        name: 'windows server',
        path: '/windows server',
        type: 'directory',
        size: null,
        mime_type: null,
        modified_at: '2024-07-02T10:00:00.000Z',
        item_count: null, // its index is a 404 here: unknown, not an error
      },
      {
        name: 'ubuntu-24.04.vhdx',
        path: '/ubuntu-24.04.vhdx',
        type: 'file',
        size: 4_194_304,
        mime_type: 'application/x-vhdx',
        modified_at: '2024-04-25T12:00:00.000Z',
        item_count: null,
      },
      {
        name: '日本.iso',
        path: '/日本.iso',
        type: 'file',
        size: 2048,
        mime_type: 'application/x-iso9660-image',
        modified_at: '2024-04-26T12:00:00.000Z',
        item_count: null,
      },
    ])
    const stats = await driver.stats!()
    expect(stats).toEqual({ used_bytes: 4_196_352, file_count: 2, template_count: 2 })
  })

  it('falls back to HEAD for stat when the parent index is refused', async () => {
    server = await startFakeServer((req, res) => {
      if (req.url?.endsWith('/')) return res.writeHead(403).end() // Options -Indexes
      if (req.url === '/locked/iso') return res.writeHead(301, { location: '/locked/iso/' }).end()
      if (req.url === '/locked/a.iso' && req.method === 'HEAD')
        return res
          .writeHead(200, { 'content-length': '2048', 'last-modified': DATE, date: DATE })
          .end()
      res.writeHead(404).end()
    })
    const driver = createHttpDriver({ url: `${server.url}locked/` })
    expect(await driver.stat('/a.iso')).toEqual({
      name: 'a.iso',
      path: '/a.iso',
      type: 'file',
      size: 2048,
      mime_type: 'application/x-iso9660-image',
      modified_at: '2024-07-02T10:00:00.000Z',
      item_count: null,
    })
    expect(await driver.stat('/iso')).toMatchObject({ type: 'directory', item_count: null })
    await expect(driver.stat('/nope')).rejects.toMatchObject({ code: 'not_found' })
    await expect(driver.list('/')).rejects.toMatchObject({ code: 'forbidden' })
  })
})
