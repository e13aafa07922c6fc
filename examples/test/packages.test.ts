import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../..', import.meta.url))
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')

/** The packages users install from npm, and each one's exports map. */
const PUBLISHED = [
  'core',
  'engine',
  'adapters-s3',
  'adapters-nfs',
  'adapters-http',
  'adapters-iscsi',
  'server-hono',
  'client',
] as const

/**
 * What a user gets from npm: each package packed (pnpm pack rewrites `workspace:*` to the
 * real version, which `npm pack` would leave broken), installed with plain npm into a
 * project outside the workspace, then type-checked and run.
 */
describe('published packages', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'pstorage-pack-'))
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))

  it('install from their tarballs into a plain npm project and import with types', async () => {
    const tarballs: string[] = []
    for (const name of PUBLISHED) {
      const dir = join(root, 'packages', name)
      await run('pnpm', ['pack', '--pack-destination', scratch], { cwd: dir })
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
      const tarball = readdirSync(scratch).find(
        (f) => f.startsWith(`pstorage-${name}-`) && f.endsWith('.tgz'),
      )
      expect(tarball, `tarball of ${manifest.name}`).toBeDefined()
      tarballs.push(`./${tarball}`)
    }
    writeFileSync(
      join(scratch, 'package.json'),
      JSON.stringify({ name: 'scratch', private: true, type: 'module' }),
    )
    await run('npm', ['install', '--no-audit', '--no-fund', ...tarballs, '@types/node@24.19.2'], {
      cwd: scratch,
      maxBuffer: 16 * 1024 * 1024,
    })

    // Every subpath of every exports map resolves to a file that exists.
    for (const name of PUBLISHED) {
      const manifest = JSON.parse(
        readFileSync(join(scratch, 'node_modules', '@pstorage', name, 'package.json'), 'utf8'),
      )
      for (const [subpath, target] of Object.entries(manifest.exports as Record<string, unknown>)) {
        const files =
          typeof target === 'string' ? [target] : Object.values(target as Record<string, string>)
        for (const file of files) {
          expect(
            existsSync(join(scratch, 'node_modules', '@pstorage', name, file)),
            `${name} ${subpath} → ${file}`,
          ).toBe(true)
        }
      }
    }

    writeFileSync(
      join(scratch, 'index.ts'),
      `import { createPStorage, type Volume } from '@pstorage/core'
import { createFlashEngine } from '@pstorage/engine'
import { createApp } from '@pstorage/server-hono'
import { startServer } from '@pstorage/server-hono/node'
import { ApiError, PStorageClient } from '@pstorage/client'
import { s3BackendType } from '@pstorage/adapters-s3'
import { nfsBackendType } from '@pstorage/adapters-nfs'
import { httpBackendType } from '@pstorage/adapters-http'
import { iscsiBackendType } from '@pstorage/adapters-iscsi'

const dir = process.argv[2]!
const pstorage = await createPStorage({
  dataDir: dir,
  engine: await createFlashEngine({ dataDir: dir + '/engine' }),
  backendTypes: { s3: s3BackendType, nfs: nfsBackendType, http: httpBackendType, iscsi: iscsiBackendType },
})
await pstorage.identity.users.ensureAdmin({ password: 'scratch-password' })
const server = await startServer(pstorage, { port: 0 })
const client = new PStorageClient({ baseUrl: server.url })
await client.login({ username: 'admin', password: 'scratch-password' })
const volume: Volume = await client.createVolume({ name: 'from-npm', size_gb: 1 })
await client.writeVolume(volume.id, { offset: 0, data: btoa('packed') })
const read = await client.readVolume(volume.id, { offset: 0 })
const missing = await client.getVolume('nope').catch((e: unknown) => e)
const health = await (await createApp(pstorage).request('/health')).json()
const backend = await client.createBackend({ name: 'files', type: 'local', config: { path: dir + '/backends/files' } })
await client.uploadFiles(backend.id, [{ name: 'hello.txt', data: new TextEncoder().encode('hi') }])
const listed = (await client.listFiles(backend.id)).items.map((i) => i.name)
console.log(JSON.stringify({ data: atob(read.data), missing: missing instanceof ApiError && missing.status, health, listed }))
await server.close()
await pstorage.close()
`,
    )
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          types: ['node'],
          lib: ['ES2023', 'DOM'],
        },
        include: ['index.ts'],
      }),
    )
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: scratch })
    const { stdout } = await run(process.execPath, ['index.ts', join(scratch, 'data')], {
      cwd: scratch,
    })
    expect(JSON.parse(stdout)).toEqual({
      data: 'packed',
      missing: 404,
      health: { status: 'healthy', reduction_ratio: 1, cluster_enabled: false },
      listed: ['hello.txt'],
    })
  })
})
