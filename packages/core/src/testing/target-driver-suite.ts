import type { TargetDriver } from '../ports/target-driver.js'

/** Options of {@link runTargetDriverSuite}. */
export interface TargetDriverSuiteOptions {
  readonly name: string
  readonly create: () => Promise<TargetDriver>
}

/** The conformance suite of the `TargetDriver` port. */
export function runTargetDriverSuite(_options: TargetDriverSuiteOptions): void {}
