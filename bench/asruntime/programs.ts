// programs.ts — allocation-heavy AssemblyScript programs for bench/asruntime.js, built once with
// AssemblyScript's own incremental runtime (TLSF) and once with ralloc-wasm's
// (--runtime …/assembly/runtime/incremental). Each export runs one program over n operations
// and returns a checksum that must not depend on the runtime; ops() says how many operations
// the last run counted. Nothing here calls ralloc-wasm: the runtime alone differs.

let counted: i32 = 0;

/** Operations counted by the last program. */
export function ops(): i32 {
  return counted;
}

/** String building: n pieces (numbers in two bases, separators, slices) appended to strings of
 *  up to a few hundred characters, each dropped when it is long enough; one in 16 kept a while. */
export function strings(n: i32): i32 {
  let h = 0;
  let s = "";
  let kept: string[] = [];
  for (let i = 0; i < n; i++) {
    s += (i & 1 ? i.toString() : i.toString(16)) + (i % 5 ? "," : "; ");
    if (s.length > 64 + (i * 7) % 400) {
      h = h * 31 + s.length + s.charCodeAt(i % s.length);
      if ((i & 15) == 0) {
        kept.push(s.substring(i % 8));
        if (kept.length > 256) kept = [];
      }
      s = "";
    }
  }
  counted = n;
  return h + kept.length;
}

/** Array pushes: arrays of i32, f64 and strings grown one push at a time to 1..2,000 elements,
 *  read back and dropped; n pushes in all. */
export function arrays(n: i32): i32 {
  let h = 0;
  let pushes = 0;
  let round = 0;
  while (pushes < n) {
    let len = 1 + (round * 613) % 2000;
    let a = new Array<i32>();
    let b = new Array<f64>();
    let c = new Array<string>();
    for (let j = 0; j < len; j++) {
      a.push(j ^ round);
      if (j & 1) b.push(<f64>j * 0.5);
      if ((j & 31) == 0) c.push("x");
    }
    pushes += len + (len >> 1) + ((len + 31) >> 5);
    h = h * 17 + a[len >> 1] + b.length + c.length;
    round++;
  }
  counted = pushes;
  return h;
}

/** Map churn: a Map<i32, string> and a Set<string> with a sliding window of 2,000 live keys:
 *  each step sets a key, reads one, deletes the oldest, and adds to and deletes from the set. */
export function maps(n: i32): i32 {
  const W = 2000;
  let m = new Map<i32, string>();
  let set = new Set<string>();
  let h = 0;
  for (let i = 0; i < n; i++) {
    m.set(i, "v" + (i & 1023).toString());
    let k = i - (i * 7) % W;
    if (m.has(k)) h += m.get(k).length;
    if (i >= W) m.delete(i - W);
    let t = (i % 3000).toString();
    if (i & 1) set.add(t); else set.delete(t);
  }
  counted = n;
  return h * 31 + m.size + set.size;
}

/** A node of a binary tree: a class instance referencing two others. */
class Node {
  constructor(public left: Node | null, public right: Node | null, public value: i32) {}
}

/** A complete tree of the given depth. */
function build(depth: i32, value: i32): Node {
  return depth == 0 ? new Node(null, null, value) : new Node(build(depth - 1, value * 2), build(depth - 1, value * 2 + 1), value);
}

/** Nodes of a tree, and a checksum of their values. */
function walk(t: Node | null): i32 {
  return t ? 1 + walk(t.left) + walk(t.right) + (t.value & 7) : 0;
}

/** Trees of class instances (binary-trees): one tree of depth 12 kept throughout, then trees of
 *  depth 4 .. 14 built, walked and dropped, until n nodes were made. */
export function trees(n: i32): i32 {
  let long = build(12, 1);
  let made = 8191;
  let h = 0;
  for (let d = 4; made < n; d = d == 14 ? 4 : d + 2) {
    let t = build(d, d);
    made += (1 << (d + 1)) - 1;
    h = h * 3 + walk(t);
  }
  counted = made;
  return h + walk(long);
}
