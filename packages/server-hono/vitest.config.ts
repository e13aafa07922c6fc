import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'server-hono',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // These tests start real servers and clients; a shared, loaded machine needs room.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
