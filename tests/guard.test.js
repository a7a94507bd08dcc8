// The guarded builds' check word (assembly/diag/guard.ts), computed here independently: SipHash-1-3
// of (p, S, n, serial) under the key ralloc_seed sets, folded to 32 bits, and the canary bytes
// after the request. The reference SipHash below is checked against the published SipHash-2-4
// vectors first, so a wrong reference cannot agree with a wrong build.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createInstance, GUARDED_BUILDS, MisuseReport } from './lib/instance.js';

const M64 = (1n << 64n) - 1n;
const rotl = (x, b) => ((x << BigInt(b)) | (x >> BigInt(64 - b))) & M64;

/** SipHash-c-d of `msg` (bytes) under (k0, k1), as a 64-bit BigInt. */
function siphash(c, d, k0, k1, msg) {
  let v0 = k0 ^ 0x736f6d6570736575n, v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n, v3 = k1 ^ 0x7465646279746573n;
  const round = () => {
    v0 = (v0 + v1) & M64; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
    v2 = (v2 + v3) & M64; v3 = rotl(v3, 16); v3 ^= v2;
    v0 = (v0 + v3) & M64; v3 = rotl(v3, 21); v3 ^= v0;
    v2 = (v2 + v1) & M64; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
  };
  const word = (i) => {
    let w = 0n;
    for (let j = 7; j >= 0; j--) w = (w << 8n) | BigInt(i + j < msg.length ? msg[i + j] : 0);
    return w;
  };
  const full = msg.length & ~7;
  for (let i = 0; i < full; i += 8) {
    const m = word(i);
    v3 ^= m; for (let r = 0; r < c; r++) round(); v0 ^= m;
  }
  const b = (BigInt(msg.length & 255) << 56n) | word(full);
  v3 ^= b; for (let r = 0; r < c; r++) round(); v0 ^= b;
  v2 ^= 0xffn; for (let r = 0; r < d; r++) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

/** SplitMix64's finaliser, as guardSeed derives k1 from the seed. */
function mix64(x) {
  x = ((x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  x = ((x ^ (x >> 27n)) * 0x94d049bb133111ebn) & M64;
  return x ^ (x >> 31n);
}

/** The 16-byte message of block p (size s) holding request n with allocation number serial. */
function message(p, s, n, serial) {
  const out = new Uint8Array(16);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, p, true); dv.setUint32(4, s, true); dv.setUint32(8, n, true); dv.setUint32(12, serial, true);
  return out;
}

test('the reference SipHash gives the published SipHash-2-4 vectors (key 00..0f, message 00..n-1)', () => {
  const k0 = 0x0706050403020100n, k1 = 0x0f0e0d0c0b0a0908n;
  const msg = (n) => Uint8Array.from({ length: n }, (_, i) => i);
  assert.equal(siphash(2, 4, k0, k1, msg(0)), 0x726fdb47dd0e0e31n);
  assert.equal(siphash(2, 4, k0, k1, msg(8)), 0x93f5f5799a932462n);
  assert.equal(siphash(2, 4, k0, k1, msg(15)), 0xa129ca6149be45e5n);
  assert.equal(siphash(2, 4, k0, k1, msg(16)), 0x3f2acc7f57c29bdbn);
});

// validate is guarded too (the debug build that walks the heap after every call).
for (const build of [...GUARDED_BUILDS, 'validate']) {
  describe(`${build}: the check word and the canary`, () => {
    test('each block\'s check word is SipHash-1-3 of (p, S, n, serial) under the seeded key, and its canary repeats the check word\'s bytes with the top bit set', () => {
      const seed = 0x9abcdef012345678n;
      const r = createInstance(build, { initial: 2 });
      assert.equal(r.exports.ralloc_seed(Number(seed & 0xffffffffn), Number(seed >> 32n)), 0);
      const k0 = seed, k1 = mix64(seed ^ 0x9e3779b97f4a7c15n);
      let serial = 0;
      for (let n = 0; n <= 300; n += 13) {
        const p = r.malloc(n);
        assert.notEqual(p, 0);
        serial++;
        const dv = new DataView(r.memory.buffer);
        const s = dv.getUint32(p - 4, true) & ~15;
        const t = p + s - 16; // the trailer: n, serial, check
        assert.equal(dv.getUint32(t, true), n, `request of block ${p}`);
        assert.equal(dv.getUint32(t + 4, true), serial, `serial of block ${p}`);
        const h = siphash(1, 3, k0, k1, message(p, s, n, serial));
        const want = Number((h ^ (h >> 32n)) & 0xffffffffn);
        const check = dv.getUint32(t + 8, true);
        assert.equal(check, want, `check word of block ${p} (n ${n}, size ${s})`);
        assert.ok(t - (p + n) >= 4, `at least 4 canary bytes after ${n}`);
        for (let q = p + n, i = 0; q < t; q++, i++) {
          assert.equal(dv.getUint8(q), ((check >>> (8 * (i & 3))) & 0xff) | 0x80, `canary byte ${i} of block ${p} (n ${n})`);
        }
      }
      assert.equal(r.check(), 0);
    });

    test('a change to any one canary byte is caught, whichever of the 8-byte, 4-byte or single-byte steps reads it', () => {
      const r = createInstance(build, { initial: 2 });
      // ralloc_check names the broken guard: it returns CHECK_GUARD, or (debug) reports it.
      const checkCode = () => {
        try { return r.check(); } catch (e) { if (e instanceof MisuseReport) return 'reported'; throw e; }
      };
      for (let n = 0; n < 40; n++) {
        const p = r.malloc(n);
        const dv = new DataView(r.memory.buffer);
        const t = p + (dv.getUint32(p - 4, true) & ~15) - 16;
        for (let q = p + n; q < t; q++) {
          const old = dv.getUint8(q);
          dv.setUint8(q, old ^ 0x40);
          const code = checkCode();
          assert.ok(code === 17 || code === 'reported', `n ${n}: canary byte ${q - p - n} of ${t - p - n} changed, check gave ${code}`);
          dv.setUint8(q, old);
        }
        assert.equal(checkCode(), 0, `n ${n}: every canary byte restored`);
        r.free(p);
      }
    });
  });
}

// The security build never guards a block with a key anyone could know: it is seeded by
// ralloc_seed, or else at its first guarded block by the host's entropy hook; a host that gives
// no entropy gets report 13 (UNSEEDED) and no block.
describe('security: the key is seeded before the first guarded block', () => {
  const M_UNSEEDED = 13;

  test('a host whose entropy hook refuses gets UNSEEDED at the first malloc, and nothing is handed out', () => {
    const r = createInstance('security', { initial: 2, hooks: { 'ralloc_hooks.entropy': () => 0 } });
    assert.throws(() => r.malloc(24), (e) => e instanceof MisuseReport && e.report.code === M_UNSEEDED);
    assert.throws(() => r.malloc(24), (e) => e instanceof MisuseReport && e.report.code === M_UNSEEDED);
  });

  test('ralloc_seed first: the entropy hook is never asked, and the check words follow the seed', () => {
    const seen = [];
    const a = createInstance('security', { initial: 2, hooks: { 'ralloc_hooks.entropy': (...args) => { seen.push(args); return 0; } } });
    const b = createInstance('security', { initial: 2 });
    assert.equal(a.exports.ralloc_seed(1, 2), 0);
    assert.equal(b.exports.ralloc_seed(1, 2), 0);
    const pa = a.malloc(40), pb = b.malloc(40);
    assert.equal(pa, pb);
    const word = (r, p) => new DataView(r.memory.buffer).getUint32(p + (new DataView(r.memory.buffer).getUint32(p - 4, true) & ~15) - 8, true);
    assert.equal(word(a, pa), word(b, pb), 'the same seed gives the same check word');
    assert.deepEqual(seen, []);
  });

  test('without ralloc_seed, the key comes from the host\'s bytes: two instances with different bytes guard differently', () => {
    const fill = (v) => (ptr, len) => { new Uint8Array(r0.memory.buffer, ptr, len).fill(v); return 1; };
    let r0;
    const a = (r0 = createInstance('security', { initial: 2, hooks: { 'ralloc_hooks.entropy': (p, l) => fill(1)(p, l) } }));
    const pa = a.malloc(40);
    const b = (r0 = createInstance('security', { initial: 2, hooks: { 'ralloc_hooks.entropy': (p, l) => fill(2)(p, l) } }));
    const pb = b.malloc(40);
    assert.equal(pa, pb);
    const word = (r, p) => new DataView(r.memory.buffer).getUint32(p + (new DataView(r.memory.buffer).getUint32(p - 4, true) & ~15) - 8, true);
    assert.notEqual(word(a, pa), word(b, pb));
    // and the entropy's bytes do not stay in the block the program gets: it reads zero
    assert.deepEqual([...new Uint8Array(a.memory.buffer, pa, 40)], new Array(40).fill(0));
    assert.equal(a.exports.ralloc_seed(3, 4), 28, 'too late to seed: EINVAL');
  });
});
