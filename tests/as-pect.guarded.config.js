// as-pect, second run: the specs of what only the guarded builds have (small/quick.ts's quick
// lists, diag/guard.ts's guards, the misuse reports of ops/ops.ts, core/bins.ts and
// inspect/check.ts), compiled with the debug build's knobs (tests/as-pect.guarded.asconfig.json:
// RALLOC_DEBUG=1, RALLOC_LOG=3, as asconfig.json's debug target). ralloc_hooks.report throws
// (tests/as-pect.config.js), so a spec asserts a report with expect(fn).toThrow() and reads which
// one it was from ralloc_test.last_report (tests/assembly/guarded/report.include.ts).
import base from "./as-pect.config.js";

export default {
  ...base,
  entries: ["tests/assembly/guarded/*.spec.ts"],
  include: ["tests/assembly/*.include.ts", "tests/assembly/guarded/*.include.ts"],
};
