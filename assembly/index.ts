// index.ts — ralloc-wasm as an AssemblyScript library: `import { malloc, free } from "ralloc-wasm/assembly"`.
export * from "./cabi";
export { STATS_SIZE, STATS_VERSION } from "./stats";
