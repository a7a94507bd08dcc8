// Code size of each allocator after `wasm-opt -Oz`, in bytes of the code section (every
// function body with its size prefix; data, names and the module's other sections are left
// out because they are not code). Two figures for the import-based allocators:
//   whole module   the build as shipped, every export kept
//   malloc family  exports cut down to malloc, free, realloc, calloc (and the init call the
//                  benchmark needs), then -Oz, so dead code is dropped: the fair comparison
//                  with TLSF, whose module exports only those.
// dlmalloc has no module of its own, so it is measured by difference: two wasi-libc reactor
// programs, one exporting malloc/free/realloc/calloc (which pulls dlmalloc and what it
// needs -- sbrk, memcpy, memset, abort -- out of libc) and one exporting nothing of the kind,
// both -Oz; dlmalloc's code is the difference of their code sections.
import { allocatorBytes, ralloBuildPath, available } from './allocators.js';
import { cached, clang, codeBytes, hash, keepExports, wasmOptCli, CLANG_LIBC } from './toolchain.js';

const FAMILY = ['malloc', 'free', 'realloc', 'calloc'];

async function oz(label, bytes) {
  return cached(`${label}.Oz`, hash('Oz', bytes), () => wasmOptCli(bytes, ['-Oz']));
}

async function measure(label, bytes, init) {
  const [whole, family] = await Promise.all([
    oz(label, bytes),
    keepExports(bytes, init ? [...FAMILY, init] : FAMILY).then((b) => oz(`${label}.family`, b)),
  ]);
  return { whole: codeBytes(whole), family: codeBytes(family) };
}

export async function codeSizes(allocators) {
  // one wasm-opt process per measurement, started together (each costs seconds of start-up)
  return Promise.all(allocators.map(async (a) => {
    if (a.kind === 'libc') {
      const src = { 'a.c': 'int bench_unused;\n' };
      const withMalloc = await clang('size.dlmalloc', src, 'a.c', [...CLANG_LIBC, ...FAMILY.map((f) => `-Wl,--export=${f}`)]);
      const without = await clang('size.empty', src, 'a.c', CLANG_LIBC);
      const [x, y] = await Promise.all([oz('size.dlmalloc', withMalloc), oz('size.empty', without)]);
      const d = codeBytes(x) - codeBytes(y);
      return { id: a.id, label: a.label, whole: d, family: d, note: 'difference of two wasi-libc programs, with and without the malloc family exported' };
    }
    if (!available(a)) return { id: a.id, label: a.label, whole: null, family: null, note: `${ralloBuildPath(a.build)} missing` };
    // where the heap starts does not change the code of TLSF or the floor
    const bytes = await allocatorBytes(a, 65536);
    const m = await measure(`size.${a.id}`, bytes, a.init);
    return { id: a.id, label: a.label, ...m, note: a.build ? `build/${a.build}.wasm (${bytes.length} B as built)` : '' };
  }));
}
