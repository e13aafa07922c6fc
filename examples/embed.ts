/**
 * PStorage as a library: no server, no HTTP. The services validate input exactly as the
 * API does and throw typed `PStorageError`s.
 *
 *   node examples/embed.ts
 */
import { createPStorage, isPStorageError } from '@pstorage/core'

const pstorage = await createPStorage() // metadata in memory; pass { dataDir } to keep it
try {
  const volume = await pstorage.volumes.create({
    name: 'embedded',
    size_gb: 1,
    tags: { example: 'embed' },
  })
  console.log(`Created volume ${volume.name} (${volume.size_bytes} bytes)`)

  const hello = Buffer.from('Hello World!').toString('base64')
  const written = await pstorage.volumes.write(volume.id, { offset: 0, data: hello })
  console.log(`Wrote ${written.size} bytes at offset ${written.offset}`)

  const read = await pstorage.volumes.read(volume.id, 0)
  console.log(`Read back: ${Buffer.from(read.data, 'base64').toString()}`)

  const snapshot = await pstorage.snapshots.create(volume.id, { name: 'before-change' })
  await pstorage.volumes.write(volume.id, {
    offset: 0,
    data: Buffer.from('Changed!').toString('base64'),
  })
  await pstorage.snapshots.restore(volume.id, snapshot.id, { target_volume_id: volume.id })
  const restored = await pstorage.volumes.read(volume.id, 0)
  console.log(
    `After restoring ${snapshot.name}: ${Buffer.from(restored.data, 'base64').toString()}`,
  )

  try {
    await pstorage.volumes.write(volume.id, { offset: 100, data: hello })
  } catch (error) {
    if (!isPStorageError(error, 'bad_request')) throw error
    console.log(`Refused as expected: ${error.code}: ${error.detail}`)
  }
} finally {
  await pstorage.close()
}
