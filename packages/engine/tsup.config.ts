import { defineConfig } from 'tsup'

export default defineConfig({
  // The compute worker is its own entry: worker threads load dist/compute-worker.js.
  entry: ['src/index.ts', 'src/compute-worker.ts'],
  format: ['esm'],
  target: 'node22',
  dts: true,
  sourcemap: true,
  clean: true,
})
