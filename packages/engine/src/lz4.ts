import * as lz4 from 'lz4-wasm-nodejs'

/**
 * The raw exports of lz4-wasm's WebAssembly module (wasm-bindgen ABI of lz4-wasm-nodejs
 * 0.9.2, the pinned version): `compress`/`decompress` take a buffer malloc'ed in wasm memory
 * (and free it) and return pointer and length of the result at `retptr`.
 */
interface Lz4Wasm {
  readonly memory: { readonly buffer: ArrayBuffer }
  compress(retptr: number, ptr: number, len: number): void
  decompress(retptr: number, ptr: number, len: number): void
  __wbindgen_add_to_stack_pointer(delta: number): number
  __wbindgen_malloc(size: number): number
  __wbindgen_free(ptr: number, size: number): void
}

function rawModule(): Lz4Wasm | undefined {
  const module = lz4 as unknown as { __wasm?: Lz4Wasm; default?: { __wasm?: Lz4Wasm } }
  const wasm = module.__wasm ?? module.default?.__wasm
  const ok =
    wasm &&
    wasm.memory?.buffer instanceof ArrayBuffer &&
    [
      'compress',
      'decompress',
      '__wbindgen_add_to_stack_pointer',
      '__wbindgen_malloc',
      '__wbindgen_free',
    ].every((name) => typeof (wasm as unknown as Record<string, unknown>)[name] === 'function')
  return ok ? wasm : undefined
}

const WASM = rawModule()

/**
 * Runs `fn` on the result of a raw lz4-wasm call, a view of wasm memory valid only during
 * `fn` (the result is freed afterwards): no copy out of wasm memory, no allocation.
 */
function call<T>(
  wasm: Lz4Wasm,
  op: 'compress' | 'decompress',
  input: Uint8Array,
  fn: (result: Uint8Array) => T,
): T {
  const retptr = wasm.__wbindgen_add_to_stack_pointer(-16)
  try {
    const ptr = wasm.__wbindgen_malloc(input.length)
    new Uint8Array(wasm.memory.buffer, ptr, input.length).set(input)
    wasm[op](retptr, ptr, input.length)
    const words = new Int32Array(wasm.memory.buffer, retptr, 4)
    const [at, length, , failed] = [words[0]!, words[1]!, words[2]!, words[3]!]
    if (op === 'decompress' && failed) throw new Error('lz4 payload does not decode')
    try {
      return fn(new Uint8Array(wasm.memory.buffer, at, length))
    } finally {
      wasm.__wbindgen_free(at, length)
    }
  } finally {
    wasm.__wbindgen_add_to_stack_pointer(16)
  }
}

/**
 * LZ4-compresses `input` (lz4-wasm's format: 4-byte size prefix and an LZ4 block) and hands
 * the result to `fn` without copying it out of wasm memory first.
 *
 * @example
 * ```ts
 * const n = lz4CompressWith(content, (packed) => (out.set(packed, at), packed.length))
 * ```
 */
export function lz4CompressWith<T>(input: Uint8Array, fn: (packed: Uint8Array) => T): T {
  if (WASM) return call(WASM, 'compress', input, fn)
  return fn(lz4.compress(input))
}

/**
 * Decompresses an lz4-wasm payload and hands the bytes to `fn` (a view valid only during
 * `fn`). Throws when the payload does not decode.
 *
 * @example
 * ```ts
 * lz4DecompressWith(payload, (bytes) => out.set(bytes))
 * ```
 */
export function lz4DecompressWith<T>(payload: Uint8Array, fn: (bytes: Uint8Array) => T): T {
  if (WASM) return call(WASM, 'decompress', payload, fn)
  let bytes: Uint8Array
  try {
    bytes = lz4.decompress(payload)
  } catch (cause) {
    throw new Error('lz4 payload does not decode', { cause })
  }
  return fn(bytes)
}
