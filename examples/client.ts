/**
 * The typed client against a running server: log in, create a volume, write
 * "Hello World!", read it back, clean up.
 *
 *   npm start                                  # in another terminal; note the admin password
 *   PSTORAGE_PASSWORD=... node examples/client.ts
 *
 * Environment: PSTORAGE_URL (default http://localhost:8000), and either PSTORAGE_API_KEY
 * or PSTORAGE_USERNAME (default admin) with PSTORAGE_PASSWORD.
 */
import { ApiError, PStorageClient } from '@pstorage/client'

const env = process.env
const client = new PStorageClient({
  baseUrl: env.PSTORAGE_URL ?? 'http://localhost:8000',
  ...(env.PSTORAGE_API_KEY && { apiKey: env.PSTORAGE_API_KEY }),
})
if (!env.PSTORAGE_API_KEY) {
  await client.login({
    username: env.PSTORAGE_USERNAME ?? 'admin',
    password: env.PSTORAGE_PASSWORD ?? '',
  })
  console.log(`Logged in as ${(await client.getMe()).username}`)
}

const health = await client.getHealth()
console.log(`Server is ${health.status}`)

const volume = await client.createVolume({ name: `hello-${Date.now()}`, size_gb: 1 })
try {
  console.log(`Created volume ${volume.name} (${volume.id})`)
  const written = await client.writeVolume(volume.id, { offset: 0, data: btoa('Hello World!') })
  console.log(`Wrote ${written.size} bytes (deduplicated: ${written.was_deduplicated})`)
  const read = await client.readVolume(volume.id, { offset: 0 })
  console.log(`Read back: ${atob(read.data)}`)

  try {
    await client.writeVolume(volume.id, { offset: 1, data: btoa('x') })
  } catch (error) {
    if (!(error instanceof ApiError)) throw error
    console.log(`Refused as expected: ${error.status} ${error.error}: ${error.detail}`)
  }
} finally {
  await client.deleteVolume(volume.id)
  console.log('Deleted the volume')
}
