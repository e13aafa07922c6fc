import { defineConfig } from 'tsup'

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    // For worker threads that need this alone, without the rest of core.
    bytes: 'src/services/release-bytes.ts',
  },
  format: ['esm'],
  target: 'node22',
  dts: true,
  sourcemap: true,
  clean: true,
  // The conformance suites call vitest's describe/it; the caller's vitest is used.
  external: ['vitest'],
})
