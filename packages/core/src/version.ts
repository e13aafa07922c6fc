import pkg from '../package.json' with { type: 'json' }

/** The version of PStorage, as published. */
export const PSTORAGE_VERSION: string = pkg.version
