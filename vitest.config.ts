import { existsSync } from 'node:fs'
import { defineConfig } from 'vitest/config'

/**
 * One command runs every package's tests: `npm test` (or `pnpm exec vitest run`).
 * Each package is its own project, so `vitest run --project core` narrows a run.
 */
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'examples/vitest.config.ts'].filter(
      (p) => !p.startsWith('examples') || existsSync(p),
    ),
  },
})
