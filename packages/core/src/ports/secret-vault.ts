/**
 * Encrypts secrets (backend credentials, CHAP secrets, SSH keys) before they are stored.
 *
 * Contract: `open(seal(p, ctx), ctx) === p`; opening with another `context` fails (the
 * context is authenticated, so a sealed value cannot be moved to another record or field);
 * a tampered sealed value fails; sealed values never contain the plaintext. The key is
 * kept outside the metadata database.
 *
 * @example
 * ```ts
 * const sealed = await vault.seal('s3cr3t', 'backend:42|secret_access_key')
 * const plain = await vault.open(sealed, 'backend:42|secret_access_key')
 * ```
 */
export interface SecretVault {
  /** Encrypts `plaintext`, bound to `context`. */
  seal(plaintext: string, context: string): Promise<string>
  /** Decrypts what `seal` produced for the same `context`. */
  open(sealed: string, context: string): Promise<string>
}
