import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'engine',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Every write waits for real fsyncs: give slow disks room.
    testTimeout: 20_000,
  },
})
