import { defineProject } from 'vitest/config'

export default defineProject({
  test: { name: 'server-hono', include: ['src/**/*.test.ts', 'test/**/*.test.ts'] },
})
