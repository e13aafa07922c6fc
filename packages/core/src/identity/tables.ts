/** The identity tables of the metadata schema (see identity/migrations.ts). */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the identity migrations
export interface IdentityTables {}
