/**
 * `pnpm bench:engine` (`node packages/engine/bench/engine.ts [flags]`): the engine benchmark
 * of issue 3; see cli.ts for the flags and packages/engine/README.md ("Benchmark") for what
 * it measures. This entry only installs the `.js` → `.ts` resolve hook (the modules use
 * NodeNext `.js` specifiers, as the package's tsconfig checks them), then runs cli.ts.
 */
await import(new URL('./ts-resolve.ts', import.meta.url).href)
await import('./cli.js')
