/**
 * A small WebAssembly bytecode builder: just enough of the binary format to
 * emit tensa's SIMD kernels at run time from TypeScript (no toolchain, no
 * committed binary, no dependency).
 *
 * A module imports one memory, `tensa.memory` (shared when asked), and
 * defines functions over `i32`, `f32` and `v128` values. A function body is
 * written through {@linkcode Body}, whose methods append instructions in
 * stack-machine order; structured control (`block`, `loop`, `if`) takes a
 * callback for its body, so blocks always nest and close.
 *
 * @internal
 * @module
 */

/** A WebAssembly value type. @internal */
export type ValType = "i32" | "f32" | "f64" | "v128";

const VALTYPE: Record<ValType, number> = {
  i32: 0x7f,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
};

function uleb(out: number[], v: number): void {
  let n = v >>> 0;
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

function sleb(out: number[], v: number): void {
  let n = v | 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function name(out: number[], s: string): void {
  const bytes = new TextEncoder().encode(s);
  uleb(out, bytes.length);
  for (const b of bytes) out.push(b);
}

/** A local variable (or parameter) of a function: its index and type. @internal */
export interface Local {
  /** Index among the function's parameters and locals. */
  readonly index: number;
  /** Its type. */
  readonly type: ValType;
}

/** A function of the module, by index. @internal */
export interface FuncRef {
  /** Index in the function index space. */
  readonly index: number;
}

/**
 * The instruction stream of one function body. Memory accesses take a byte
 * offset immediate (`off`) added to the address on the stack.
 *
 * @internal
 */
export class Body {
  /** The encoded instructions. */
  readonly code: number[] = [];
  /** Types of the locals declared after the parameters. */
  readonly extra: ValType[] = [];
  #count: number;

  /** @param params The parameter types. */
  constructor(params: readonly ValType[]) {
    this.#count = params.length;
  }

  /** Declares a new local of type `t`. */
  local(t: ValType): Local {
    this.extra.push(t);
    return { index: this.#count++, type: t };
  }

  #op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  #simd(op: number): this {
    this.code.push(0xfd);
    uleb(this.code, op);
    return this;
  }

  #mem(align: number, off: number): this {
    uleb(this.code, align);
    uleb(this.code, off);
    return this;
  }

  /** `local.get`. */
  get(l: Local): this {
    this.#op(0x20);
    uleb(this.code, l.index);
    return this;
  }
  /** `local.set`. */
  set(l: Local): this {
    this.#op(0x21);
    uleb(this.code, l.index);
    return this;
  }
  /** `local.tee`. */
  tee(l: Local): this {
    this.#op(0x22);
    uleb(this.code, l.index);
    return this;
  }
  /** `i32.const`. */
  i32(v: number): this {
    this.#op(0x41);
    sleb(this.code, v);
    return this;
  }
  /** `f32.const`. */
  f32(v: number): this {
    this.#op(0x43);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    for (const x of b) this.code.push(x);
    return this;
  }
  /** `f64.const`. */
  f64(v: number): this {
    this.#op(0x44);
    const b = new Uint8Array(new Float64Array([v]).buffer);
    for (const x of b) this.code.push(x);
    return this;
  }
  /** `f64.sub`. */
  fsub64(): this {
    return this.#op(0xa1);
  }
  /** `i32.add`. */
  add(): this {
    return this.#op(0x6a);
  }
  /** `i32.sub`. */
  sub(): this {
    return this.#op(0x6b);
  }
  /** `i32.mul`. */
  mul(): this {
    return this.#op(0x6c);
  }
  /** `i32.shl`. */
  shl(): this {
    return this.#op(0x74);
  }
  /** `i32.lt_s`. */
  lt(): this {
    return this.#op(0x48);
  }
  /** `i32.ge_s`. */
  ge(): this {
    return this.#op(0x4e);
  }
  /** `i32.gt_s`. */
  gt(): this {
    return this.#op(0x4a);
  }
  /** `i32.eq`. */
  eq(): this {
    return this.#op(0x46);
  }
  /** `i32.eqz`. */
  eqz(): this {
    return this.#op(0x45);
  }
  /** `i32.and`. */
  and(): this {
    return this.#op(0x71);
  }
  /** `i32.div_s`. */
  div(): this {
    return this.#op(0x6d);
  }
  /** `i32.lt_u` (also tests `0 <= x < n` for a signed x). */
  ltU(): this {
    return this.#op(0x49);
  }
  /** `i32.load` at `off` bytes past the address. */
  loadI32(off = 0): this {
    return this.#op(0x28).#mem(2, off);
  }
  /** `i32.rem_s`. */
  rem(): this {
    return this.#op(0x6f);
  }
  /** `i32.xor`. */
  xor(): this {
    return this.#op(0x73);
  }
  /** `i32.or`. */
  or(): this {
    return this.#op(0x72);
  }
  /** `select` (numeric operands). */
  select(): this {
    return this.#op(0x1b);
  }
  /** `f32.add`. */
  fadd(): this {
    return this.#op(0x92);
  }
  /** `f32.load` at `off` bytes past the address. */
  loadF32(off = 0): this {
    return this.#op(0x2a).#mem(2, off);
  }
  /** `f32.store` at `off` bytes past the address. */
  storeF32(off = 0): this {
    return this.#op(0x38).#mem(2, off);
  }
  /** `v128.load` at `off` bytes past the address. */
  loadV(off = 0): this {
    return this.#simd(0x00).#mem(4, off);
  }
  /** `v128.load32_splat` at `off` bytes past the address. */
  loadSplat(off = 0): this {
    return this.#simd(0x09).#mem(2, off);
  }
  /** `v128.store` at `off` bytes past the address. */
  storeV(off = 0): this {
    return this.#simd(0x0b).#mem(4, off);
  }
  /** `f32x4.add`. */
  vadd(): this {
    return this.#simd(0xe4);
  }
  /** `f32x4.mul`. */
  vmul(): this {
    return this.#simd(0xe6);
  }
  /** `f32x4.gt` (all ones where a > b, false for NaN). */
  vgt(): this {
    return this.#simd(0x44);
  }
  /** `v128.and`. */
  vand(): this {
    return this.#simd(0x4e);
  }
  /** `f32.gt`. */
  fgt(): this {
    return this.#op(0x5e);
  }
  /** `i32.reinterpret_f32`. */
  bitsOf(): this {
    return this.#op(0xbc);
  }
  /** `f32.reinterpret_i32`. */
  floatOf(): this {
    return this.#op(0xbe);
  }
  /** `i32x4.splat`. */
  isplat(): this {
    return this.#simd(0x11);
  }
  /** `i32x4.eq` (all ones where the lanes are equal). */
  ieq4(): this {
    return this.#simd(0x37);
  }
  /** `i32x4.lt_u` (all ones where a < b as unsigned). */
  iltU4(): this {
    return this.#simd(0x3a);
  }
  /** `i32x4.add`. */
  iadd4(): this {
    return this.#simd(0xae);
  }
  /** `i32x4.shl` by the i32 on the stack. */
  ishl4(): this {
    return this.#simd(0xab);
  }
  /** `i32x4.shr_u` by the i32 on the stack. */
  ishrU4(): this {
    return this.#simd(0xad);
  }
  /** `v128.or`. */
  vor(): this {
    return this.#simd(0x50);
  }
  /** `v128.xor`. */
  vxor(): this {
    return this.#simd(0x51);
  }
  /** `v128.const` of four int32 lanes. */
  iconst4(a: number, b: number, c: number, d: number): this {
    this.#simd(0x0c);
    const x = new Uint8Array(new Int32Array([a, b, c, d]).buffer);
    for (const v of x) this.code.push(v);
    return this;
  }
  /** `i8x16.shuffle` picking the given int32 lanes (0-3 of a, 4-7 of b). */
  shuffle32(lanes: readonly [number, number, number, number]): this {
    this.#simd(0x0d);
    for (const l of lanes) {
      for (let k = 0; k < 4; k++) this.code.push(4 * l + k);
    }
    return this;
  }
  /** `f64x2.splat`. */
  dsplat(): this {
    return this.#simd(0x14);
  }
  /** `f64x2.promote_low_f32x4`. */
  promoteLow(): this {
    return this.#simd(0x5f);
  }
  /** `f32x4.demote_f64x2_zero`. */
  demote(): this {
    return this.#simd(0x5e);
  }
  /** `f64x2.add`. */
  dadd(): this {
    return this.#simd(0xf0);
  }
  /** `f64x2.mul`. */
  dmul(): this {
    return this.#simd(0xf2);
  }
  /** `f64x2.div`. */
  ddiv(): this {
    return this.#simd(0xf3);
  }
  /** `f64x2.sqrt`. */
  dsqrt(): this {
    return this.#simd(0xef);
  }
  /** `v128.bitselect`: bits of a where the mask is set, else of b. */
  bitselect(): this {
    return this.#simd(0x52);
  }
  /** `f32x4.relaxed_madd` (a * b + c, fused where the CPU has FMA). */
  vmaddRelaxed(): this {
    return this.#simd(0x105);
  }
  /** `v128.const` of four equal float32 lanes. */
  vconst(v: number): this {
    this.#simd(0x0c);
    const b = new Uint8Array(new Float32Array([v, v, v, v]).buffer);
    for (const x of b) this.code.push(x);
    return this;
  }
  /** `call`. */
  call(f: FuncRef): this {
    this.#op(0x10);
    uleb(this.code, f.index);
    return this;
  }
  /** `br` to the enclosing label `depth` levels out. */
  br(depth: number): this {
    this.#op(0x0c);
    uleb(this.code, depth);
    return this;
  }
  /** `br_if` to the enclosing label `depth` levels out. */
  brIf(depth: number): this {
    this.#op(0x0d);
    uleb(this.code, depth);
    return this;
  }
  /** `block ... end` (no result). */
  block(body: () => void): this {
    this.#op(0x02, 0x40);
    body();
    return this.#op(0x0b);
  }
  /** `loop ... end` (no result). */
  loop(body: () => void): this {
    this.#op(0x03, 0x40);
    body();
    return this.#op(0x0b);
  }
  /** `if ... else ... end` on the i32 on the stack (no result). */
  if(then: () => void, otherwise?: () => void): this {
    this.#op(0x04, 0x40);
    then();
    if (otherwise !== undefined) {
      this.#op(0x05);
      otherwise();
    }
    return this.#op(0x0b);
  }

  /**
   * `for (i = from; i < to; i += step) body()` over an i32 local, where
   * `from` and `to` push one i32 each (evaluated once) and the loop is
   * skipped when empty.
   */
  for(
    i: Local,
    from: () => void,
    to: Local,
    step: number,
    body: () => void,
  ): this {
    from();
    this.set(i);
    return this.block(() => {
      this.get(i).get(to).ge().brIf(0);
      this.loop(() => {
        body();
        this.get(i).i32(step).add().tee(i).get(to).lt().brIf(0);
      });
    });
  }
}

/**
 * Emits loads of consecutive int32 words at `ptr` into fresh locals, one
 * per name, in order.
 *
 * @internal
 * @param f The function body.
 * @param ptr The local holding the words' byte address.
 * @param names The words' names.
 * @returns The locals by name.
 */
export function loadFields<N extends string>(
  f: Body,
  ptr: Local,
  names: readonly N[],
): Record<N, Local> {
  const out = {} as Record<N, Local>;
  names.forEach((name, i) => {
    const l = f.local("i32");
    f.get(ptr).loadI32(4 * i).set(l);
    out[name] = l;
  });
  return out;
}

interface FuncDef {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
  readonly body: Body;
  readonly exportName: string | null;
}

/**
 * A module under construction: one imported memory and a list of functions.
 *
 * @internal
 */
export class ModuleBuilder {
  #funcs: FuncDef[] = [];
  readonly #shared: boolean;

  /** @param shared Whether the imported memory is shared (threads). */
  constructor(shared: boolean) {
    this.#shared = shared;
  }

  /**
   * Adds a function, exported as `exportName` unless that is `null`, whose
   * body `build` writes; returns its reference (usable in later bodies, and
   * in earlier ones once declared through {@linkcode declare}).
   */
  func(
    exportName: string | null,
    params: readonly ValType[],
    results: readonly ValType[],
    build: (b: Body, args: Local[]) => void,
  ): FuncRef {
    const body = new Body(params);
    const args = params.map((t, index) => ({ index, type: t }));
    build(body, args);
    this.#funcs.push({ params, results, body, exportName });
    return { index: this.#funcs.length - 1 };
  }

  /** The module's bytes. */
  bytes(): Uint8Array<ArrayBuffer> {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, content: number[]): void => {
      out.push(id);
      uleb(out, content.length);
      for (const b of content) out.push(b);
    };
    // Types: one per function (duplicates are harmless).
    const types: number[] = [];
    uleb(types, this.#funcs.length);
    for (const f of this.#funcs) {
      types.push(0x60);
      uleb(types, f.params.length);
      for (const p of f.params) types.push(VALTYPE[p]);
      uleb(types, f.results.length);
      for (const r of f.results) types.push(VALTYPE[r]);
    }
    section(1, types);
    // Import: the memory.
    const imports: number[] = [];
    uleb(imports, 1);
    name(imports, "tensa");
    name(imports, "memory");
    imports.push(0x02);
    if (this.#shared) {
      imports.push(0x03);
      uleb(imports, 1);
      uleb(imports, 65536);
    } else {
      imports.push(0x00);
      uleb(imports, 1);
    }
    section(2, imports);
    const funcs: number[] = [];
    uleb(funcs, this.#funcs.length);
    for (let i = 0; i < this.#funcs.length; i++) uleb(funcs, i);
    section(3, funcs);
    const exports: number[] = [];
    const exported = this.#funcs
      .map((f, i) => ({ f, i }))
      .filter(({ f }) => f.exportName !== null);
    uleb(exports, exported.length);
    for (const { f, i } of exported) {
      name(exports, f.exportName!);
      exports.push(0x00);
      uleb(exports, i);
    }
    section(7, exports);
    const code: number[] = [];
    uleb(code, this.#funcs.length);
    for (const f of this.#funcs) {
      const body: number[] = [];
      // Locals, run-length encoded by type.
      const runs: { t: ValType; n: number }[] = [];
      for (const t of f.body.extra) {
        const last = runs[runs.length - 1];
        if (last !== undefined && last.t === t) last.n++;
        else runs.push({ t, n: 1 });
      }
      uleb(body, runs.length);
      for (const r of runs) {
        uleb(body, r.n);
        body.push(VALTYPE[r.t]);
      }
      for (const b of f.body.code) body.push(b);
      body.push(0x0b);
      uleb(code, body.length);
      for (const b of body) code.push(b);
    }
    section(10, code);
    return new Uint8Array(out);
  }
}
