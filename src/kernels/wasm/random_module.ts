/**
 * The Threefry-2x32-20 block function in WebAssembly SIMD, four counters at
 * a time, added to the kernel module: the same words as `random.ts`'s
 * scalar cipher, for the long draw streams of dropout masks and
 * initialisers; and the words turned into a Bernoulli mask.
 *
 * @internal
 * @module
 */

import type { Body, Local, ModuleBuilder } from "./builder.ts";

const PARITY = 0x1bd11bda;
const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24] as const;

function rotl(f: Body, x: Local, r: number): void {
  f.get(x).i32(r).ishl4().get(x).i32(32 - r).ishrU4().vor();
}

/**
 * Adds `threefry(k0, k1, b0, blocks, out)`: the two words of blocks
 * `b0 .. b0 + blocks - 1` (counter `(0, b)`, `blocks` a multiple of 4) of
 * key `(k0, k1)` to `out` (byte address), word pairs in block order.
 *
 * @internal
 */
export function addThreefry(mb: ModuleBuilder): void {
  mb.func(
    "threefry",
    ["i32", "i32", "i32", "i32", "i32"],
    [],
    (f, [k0, k1, b0, blocks, out]) => {
      const ks = [f.local("v128"), f.local("v128"), f.local("v128")];
      const x0 = f.local("v128"), x1 = f.local("v128"), ctr = f.local("v128");
      const end = f.local("i32");
      f.get(k0!).isplat().set(ks[0]!);
      f.get(k1!).isplat().set(ks[1]!);
      f.get(k0!).get(k1!).i32(PARITY).xor().xor().isplat().set(ks[2]!);
      f.get(b0!).isplat().iconst4(0, 1, 2, 3).iadd4().set(ctr);
      f.get(out!).get(blocks!).i32(3).shl().add().set(end);
      f.get(blocks!).i32(0).gt().if(() => {
        f.loop(() => {
          // x0 = c0 + k0 with c0 = 0; x1 = c1 + k1.
          f.get(ks[0]!).set(x0);
          f.get(ctr).get(ks[1]!).iadd4().set(x1);
          for (let round = 0; round < 20; round++) {
            f.get(x0).get(x1).iadd4().set(x0);
            rotl(f, x1, ROTATIONS[round & 7]!);
            f.get(x0).vxor().set(x1);
            if ((round & 3) === 3) {
              const s = (round + 1) >> 2;
              f.get(x0).get(ks[s % 3]!).iadd4().set(x0);
              f.get(x1).get(ks[(s + 1) % 3]!).iadd4().iconst4(s, s, s, s)
                .iadd4().set(x1);
            }
          }
          f.get(out!).get(x0).get(x1).shuffle32([0, 4, 1, 5]).storeV(0);
          f.get(out!).get(x0).get(x1).shuffle32([2, 6, 3, 7]).storeV(16);
          f.get(ctr).iconst4(4, 4, 4, 4).iadd4().set(ctr);
          f.get(out!).i32(32).add().tee(out!).get(end).lt().brIf(0);
        });
      });
    },
  );
}

/**
 * Adds `bernoulliMask(src, n, threshold, valueBits, dst)`: for the `n`
 * words at `src` (`n` a multiple of 4), the float32 whose bits are
 * `valueBits` where the word is below `threshold` (both unsigned), else 0,
 * to `dst` (byte addresses; `dst` may be `src`). Branch-free: the typed
 * array loop mispredicts a quarter of its branches on a 0.75 mask.
 *
 * @internal
 */
export function addBernoulliMask(mb: ModuleBuilder): void {
  mb.func(
    "bernoulliMask",
    ["i32", "i32", "i32", "i32", "i32"],
    [],
    (f, [src, n, threshold, valueBits, dst]) => {
      const thr = f.local("v128"), value = f.local("v128");
      const end = f.local("i32");
      f.get(threshold!).isplat().set(thr);
      f.get(valueBits!).isplat().set(value);
      f.get(src!).get(n!).i32(2).shl().add().set(end);
      f.block(() => {
        f.get(src!).get(end).ltU().eqz().brIf(0);
        f.loop(() => {
          f.get(dst!).get(src!).loadV().get(thr).iltU4().get(value).vand()
            .storeV();
          f.get(dst!).i32(16).add().set(dst!);
          f.get(src!).i32(16).add().tee(src!).get(end).ltU().brIf(0);
        });
      });
    },
  );
}
