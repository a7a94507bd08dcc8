// The misuse reports of the guarded configuration: ralloc_hooks.report throws (so a spec asserts a
// report with expect(fn).toThrow()), and records what it was told, read back here.

// @ts-ignore: decorator
@external("ralloc_test", "last_report")
declare function lastReport(field: u32): u32;

/** The code of the last report (base/abi.ts M_*). */
export function reportedCode(): u32 {
  return lastReport(0);
}

/** The operation the last report named (base/abi.ts OP_*). */
export function reportedOp(): u32 {
  return lastReport(1);
}

/** The address the last report named. */
export function reportedAddr(): usize {
  return <usize>lastReport(2);
}

/** The size the last report named. */
export function reportedSize(): usize {
  return <usize>lastReport(3);
}

/** Reports made so far in this module. */
export function reportCount(): u32 {
  return lastReport(5);
}
