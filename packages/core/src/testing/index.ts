/**
 * The test kit of PStorage: conformance suites that every implementation of a port runs,
 * and helpers for them. Imports vitest; use it from tests only.
 *
 * @example
 * ```ts
 * import { runBlockEngineSuite } from '@pstorage/core/testing'
 * ```
 */

export { CONFINED_CASES, TRAVERSAL_CASES, type TraversalCase } from '../backends/traversal-cases.js'
export {
  type BackendDriverSuiteOptions,
  runBackendDriverSuite,
  type SeedEntry,
} from './backend-driver-suite.js'
export {
  type BlockEngineSuiteOptions,
  pseudoRandomBytes,
  runBlockEngineSuite,
} from './block-engine-suite.js'
export { runTargetDriverSuite, type TargetDriverSuiteOptions } from './target-driver-suite.js'
