/**
 * `MemoryViews`: the typed views (`HEAP8` ... `HEAPF64`) over a
 * `WebAssembly.Memory`, remade whenever the memory has grown. `Heap` and the
 * Emscripten-like `Module` both build on it.
 *
 * @module
 */

/** The typed views over one buffer of a memory. */
interface Views {
  buffer: ArrayBuffer;
  i8: Int8Array;
  u8: Uint8Array;
  i16: Int16Array;
  u16: Uint16Array;
  i32: Int32Array;
  u32: Uint32Array;
  f32: Float32Array;
  f64: Float64Array;
}

/** Typed views over a memory that are remade whenever the memory has grown. */
export class MemoryViews {
  #views: Views | undefined;

  constructor(readonly memory: WebAssembly.Memory) {}

  /** The current views (the same objects until the memory grows). */
  protected views(): Views {
    const buffer = this.memory.buffer as ArrayBuffer;
    let v = this.#views;
    if (v === undefined || v.buffer !== buffer) {
      v = {
        buffer,
        i8: new Int8Array(buffer),
        u8: new Uint8Array(buffer),
        i16: new Int16Array(buffer),
        u16: new Uint16Array(buffer),
        i32: new Int32Array(buffer),
        u32: new Uint32Array(buffer),
        f32: new Float32Array(buffer),
        f64: new Float64Array(buffer),
      };
      this.#views = v;
    }
    return v;
  }

  /** Memory as signed bytes; never stale after memory grows. */
  get HEAP8(): Int8Array { return this.views().i8; }
  /** Memory as unsigned bytes; never stale after memory grows. */
  get HEAPU8(): Uint8Array { return this.views().u8; }
  /** Memory as signed 16-bit words (index = address >> 1). */
  get HEAP16(): Int16Array { return this.views().i16; }
  /** Memory as unsigned 16-bit words (index = address >> 1). */
  get HEAPU16(): Uint16Array { return this.views().u16; }
  /** Memory as signed 32-bit words (index = address >> 2). */
  get HEAP32(): Int32Array { return this.views().i32; }
  /** Memory as unsigned 32-bit words (index = address >> 2). */
  get HEAPU32(): Uint32Array { return this.views().u32; }
  /** Memory as 32-bit floats (index = address >> 2). */
  get HEAPF32(): Float32Array { return this.views().f32; }
  /** Memory as 64-bit floats (index = address >> 3). */
  get HEAPF64(): Float64Array { return this.views().f64; }
}
