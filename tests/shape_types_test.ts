// Type-level tests of the shape algebra: what must type is asserted with
// `assertType<IsExact<...>>`, what must not with `@ts-expect-error` through the
// `Arg` pattern ops use. Everything here is checked by `deno check`/`deno test`.

import { assertType, type IsExact } from "@std/testing/types";
import type { Shape, Tensor } from "../src/tensor.ts";
import {
  conv2d as conv2dOp,
  crossEntropy,
  globalAvgPool2d,
  matmul as matmulOp,
  maxPool2d as maxPool2dOp,
  softmax,
  tensor,
} from "../mod.ts";
import type {
  Add,
  Arg,
  BiasAddShape,
  BroadcastShapes,
  CeilDiv,
  Compare,
  ConcatShape,
  Conv2dOptions,
  Conv2dShape,
  CrossEntropyShape,
  DenseShape,
  ExpandDimsShape,
  FlattenShape,
  FloorDiv,
  GlobalPool2dShape,
  MatMulShape,
  Max,
  Min,
  Mul,
  Pool2dOptions,
  Pool2dShape,
  Product,
  ReduceShape,
  ReshapeShape,
  Result,
  ShapeError,
  ShowShape,
  SliceShape,
  SqueezeShape,
  Sub,
  TransposeShape,
} from "../src/shape/mod.ts";

type T<S extends Shape> = Tensor<S>;

Deno.test("arith adds, subtracts and compares digit by digit", () => {
  assertType<IsExact<Add<0, 0>, 0>>(true);
  assertType<IsExact<Add<999, 1>, 1000>>(true);
  assertType<IsExact<Add<2147483647, 1>, 2147483648>>(true);
  assertType<IsExact<Add<2147483647, 2147483647>, 4294967294>>(true);
  assertType<IsExact<Sub<10, 3>, 7>>(true);
  assertType<IsExact<Sub<3, 10>, -7>>(true);
  assertType<IsExact<Sub<1000, 1>, 999>>(true);
  assertType<IsExact<Sub<4294967296, 2147483647>, 2147483649>>(true);
  assertType<IsExact<Sub<5, 5>, 0>>(true);
  assertType<IsExact<Compare<9, 12>, "lt">>(true);
  assertType<IsExact<Compare<19, 12>, "gt">>(true);
  assertType<IsExact<Compare<2147483647, 2147483647>, "eq">>(true);
  assertType<IsExact<Compare<2147483648, 2147483647>, "gt">>(true);
  assertType<IsExact<Max<3, 12>, 12>>(true);
  assertType<IsExact<Max<12, 3>, 12>>(true);
  assertType<IsExact<Min<3, 12>, 3>>(true);
  assertType<IsExact<Min<12, 3>, 3>>(true);
});

Deno.test("arith multiplies and divides exactly past 2^31", () => {
  assertType<IsExact<Mul<0, 46341>, 0>>(true);
  assertType<IsExact<Mul<12, 12>, 144>>(true);
  assertType<IsExact<Mul<46341, 46341>, 2147488281>>(true);
  assertType<IsExact<Mul<65536, 65536>, 4294967296>>(true);
  assertType<IsExact<Mul<12345678, 98765432>, 1219326221002896>>(true);
  assertType<IsExact<FloorDiv<2147483647, 7>, 306783378>>(true);
  assertType<IsExact<FloorDiv<4294967296, 65536>, 65536>>(true);
  assertType<IsExact<FloorDiv<5, 10>, 0>>(true);
  assertType<IsExact<FloorDiv<100, 10>, 10>>(true);
  assertType<IsExact<CeilDiv<28, 2>, 14>>(true);
  assertType<IsExact<CeilDiv<27, 2>, 14>>(true);
  assertType<IsExact<CeilDiv<2147483647, 2>, 1073741824>>(true);
  assertType<IsExact<Product<[]>, 1>>(true);
  assertType<IsExact<Product<[64, 12, 12, 64]>, 589824>>(true);
  assertType<IsExact<Product<[60000, 28, 28, 1]>, 47040000>>(true);
  assertType<IsExact<Product<[3, 0, 5]>, 0>>(true);
});

Deno.test("arith gives number for non-literal operands", () => {
  assertType<IsExact<Add<number, 1>, number>>(true);
  assertType<IsExact<Sub<1, number>, number>>(true);
  assertType<IsExact<Mul<number, 3>, number>>(true);
  assertType<IsExact<FloorDiv<number, 3>, number>>(true);
  assertType<IsExact<CeilDiv<7, number>, number>>(true);
  assertType<IsExact<Max<number, 3>, number>>(true);
  assertType<IsExact<Min<3, number>, number>>(true);
  assertType<IsExact<Compare<number, 3>, "lt" | "eq" | "gt">>(true);
  assertType<IsExact<Product<[2, number]>, number>>(true);
  assertType<IsExact<Product<number[]>, number>>(true);
  // Past 2^53 the decimal text no longer round-trips: number, not a wrong literal.
  assertType<IsExact<Mul<123456789, 987654321>, number>>(true);
});

Deno.test("ShowShape prints shapes like showShape", () => {
  assertType<IsExact<ShowShape<[]>, "[]">>(true);
  assertType<IsExact<ShowShape<[2, 3]>, "[2, 3]">>(true);
  assertType<IsExact<ShowShape<readonly [7]>, "[7]">>(true);
  assertType<IsExact<ShowShape<[number, 3]>, "[number, 3]">>(true);
  assertType<IsExact<ShowShape<number[]>, "number[]">>(true);
});

Deno.test("broadcast and matmul shapes", () => {
  assertType<IsExact<BroadcastShapes<[2, 3], [3]>, [2, 3]>>(true);
  assertType<IsExact<BroadcastShapes<[4, 1, 3], [5, 1]>, [4, 5, 3]>>(true);
  assertType<IsExact<BroadcastShapes<[], [2, 2]>, [2, 2]>>(true);
  assertType<IsExact<BroadcastShapes<readonly [1], readonly [7]>, [7]>>(true);
  assertType<IsExact<BroadcastShapes<[number, 3], [4, 1]>, [4, 3]>>(true);
  assertType<IsExact<BroadcastShapes<[number], [1]>, [number]>>(true);
  assertType<IsExact<BroadcastShapes<number[], [1]>, number[]>>(true);
  assertType<
    IsExact<
      BroadcastShapes<[2, 3], [4]>,
      ShapeError<
        "Cannot broadcast shapes [2, 3] and [4]: dims 3 and 4 differ and neither is 1"
      >
    >
  >(true);

  assertType<IsExact<MatMulShape<[2, 3], [3, 4]>, [2, 4]>>(true);
  assertType<IsExact<MatMulShape<[5, 1, 2, 3], [7, 3, 4]>, [5, 7, 2, 4]>>(
    true,
  );
  assertType<IsExact<MatMulShape<[2, number], [3, 4]>, [2, 4]>>(true);
  assertType<IsExact<MatMulShape<Shape, [3, 4]>, number[]>>(true);
  assertType<
    IsExact<
      MatMulShape<[2, 3], [4, 5]>,
      ShapeError<
        "Cannot multiply matrices of shapes [2, 3] and [4, 5]: inner dimensions 3 and 4 differ"
      >
    >
  >(true);
  assertType<
    IsExact<
      MatMulShape<[3], [3, 4]>,
      ShapeError<
        "Cannot multiply matrices of shapes [3] and [3, 4]: both need rank 2 or more"
      >
    >
  >(true);
});

Deno.test("transpose, reshape and flatten shapes", () => {
  assertType<IsExact<TransposeShape<[2, 3, 4]>, [4, 3, 2]>>(true);
  assertType<IsExact<TransposeShape<[2, 3, 4], [1, 0, 2]>, [3, 2, 4]>>(true);
  assertType<IsExact<TransposeShape<[2, 3, 4], [-1, 0, 1]>, [4, 2, 3]>>(true);
  assertType<IsExact<TransposeShape<[2, 3], [number, 0]>, [number, number]>>(
    true,
  );
  assertType<
    IsExact<
      TransposeShape<[2, 3], [0, 0]>,
      ShapeError<
        "Cannot transpose shape [2, 3] with permutation [0, 0]: it must list each axis from 0 to 1 exactly once"
      >
    >
  >(true);

  assertType<IsExact<ReshapeShape<[2, 3, 4], [6, 4]>, [6, 4]>>(true);
  assertType<IsExact<ReshapeShape<[2, 3, 4], [-1, 4]>, [6, 4]>>(true);
  assertType<IsExact<ReshapeShape<[60000, 28, 28], [-1, 784]>, [60000, 784]>>(
    true,
  );
  assertType<IsExact<ReshapeShape<[number, 28, 28], [-1, 784]>, [number, 784]>>(
    true,
  );
  assertType<IsExact<ReshapeShape<[6], [2, number]>, [2, number]>>(true);
  assertType<
    IsExact<
      ReshapeShape<[2, 3], [4, 2]>,
      ShapeError<"Cannot reshape [2, 3] (6 elements) to [4, 2] (8 elements)">
    >
  >(true);
  assertType<
    IsExact<
      ReshapeShape<[2, 3], [-1, 4]>,
      ShapeError<
        "Cannot reshape [2, 3] (6 elements) to [-1, 4]: 6 is not divisible by 4"
      >
    >
  >(true);
  assertType<
    IsExact<
      ReshapeShape<[2, 3], [-1, -1]>,
      ShapeError<"Cannot reshape [2, 3] to [-1, -1]: at most one dim may be -1">
    >
  >(true);

  assertType<IsExact<FlattenShape<[64, 12, 12, 64]>, [64, 9216]>>(true);
  assertType<IsExact<FlattenShape<[5]>, [5, 1]>>(true);
  assertType<IsExact<FlattenShape<[number, 4, 4]>, [number, 16]>>(true);
  assertType<IsExact<FlattenShape<[8, number]>, [8, number]>>(true);
  assertType<
    IsExact<
      FlattenShape<[]>,
      ShapeError<"Cannot flatten a scalar: flatten needs rank 1 or more">
    >
  >(true);
});

Deno.test("squeeze, expandDims, concat and slice shapes", () => {
  assertType<IsExact<SqueezeShape<[2, 1, 3], 1>, [2, 3]>>(true);
  assertType<IsExact<SqueezeShape<[2, 3, 1], -1>, [2, 3]>>(true);
  assertType<IsExact<SqueezeShape<[2, number], 1>, [2]>>(true);
  assertType<IsExact<SqueezeShape<[2, 1], number>, number[]>>(true);
  assertType<
    IsExact<
      SqueezeShape<[2, 3], 1>,
      ShapeError<"Cannot squeeze axis 1 of shape [2, 3]: its dim is 3, not 1">
    >
  >(true);
  assertType<
    IsExact<
      SqueezeShape<[2, 3], -3>,
      ShapeError<"Axis -3 is out of range for shape [2, 3] of rank 2">
    >
  >(true);

  assertType<IsExact<ExpandDimsShape<[2, 3], 0>, [1, 2, 3]>>(true);
  assertType<IsExact<ExpandDimsShape<[2, 3], 2>, [2, 3, 1]>>(true);
  assertType<IsExact<ExpandDimsShape<[2, 3], -1>, [2, 3, 1]>>(true);
  assertType<IsExact<ExpandDimsShape<[2, 3], -3>, [1, 2, 3]>>(true);
  assertType<
    IsExact<
      ExpandDimsShape<[2, 3], 3>,
      ShapeError<"Axis 3 is out of range for shape [2, 3] of rank 2">
    >
  >(true);

  assertType<IsExact<ConcatShape<[[2, 3], [4, 3]], 0>, [6, 3]>>(true);
  assertType<IsExact<ConcatShape<[[2, 3], [2, 5], [2, 1]], -1>, [2, 9]>>(true);
  assertType<IsExact<ConcatShape<[[number, 3], [4, 3]], 0>, [number, 3]>>(
    true,
  );
  assertType<IsExact<ConcatShape<[[number, 3], [4, 3]], 1>, [4, 6]>>(true);
  assertType<
    IsExact<
      ConcatShape<[[2, 3], [4, 5]], 0>,
      ShapeError<
        "Cannot concatenate shapes [2, 3] and [4, 5] along axis 0: dims at axis 1 are 3 and 5"
      >
    >
  >(true);
  assertType<
    IsExact<
      ConcatShape<[[2, 3], [4]], 0>,
      ShapeError<
        "Cannot concatenate shapes [2, 3] and [4]: ranks 2 and 1 differ"
      >
    >
  >(true);

  assertType<IsExact<SliceShape<[10, 3], 2, 5>, [3, 3]>>(true);
  assertType<IsExact<SliceShape<[10, 3], 0, 10>, [10, 3]>>(true);
  assertType<IsExact<SliceShape<[number, 3], 2, 5>, [3, 3]>>(true);
  assertType<IsExact<SliceShape<[10, 3], number, 5>, [number, 3]>>(true);
  assertType<
    IsExact<
      SliceShape<[10, 3], 4, 11>,
      ShapeError<
        "Cannot slice rows 4 to 11 of shape [10, 3]: need 0 <= start <= end <= 10"
      >
    >
  >(true);
});

Deno.test("reduce shapes", () => {
  assertType<IsExact<ReduceShape<[2, 3, 4]>, []>>(true);
  assertType<IsExact<ReduceShape<[2, 3, 4], undefined, true>, [1, 1, 1]>>(
    true,
  );
  assertType<IsExact<ReduceShape<[2, 3, 4], 1>, [2, 4]>>(true);
  assertType<IsExact<ReduceShape<[2, 3, 4], -1, true>, [2, 3, 1]>>(true);
  assertType<IsExact<ReduceShape<[2, 3, 4], [0, 2]>, [3]>>(true);
  assertType<IsExact<ReduceShape<[2, 3, 4], [0, -1], true>, [1, 3, 1]>>(true);
  assertType<IsExact<ReduceShape<[2, 3, 4], number>, number[]>>(true);
  assertType<IsExact<ReduceShape<[2, 3], 1, boolean>, number[]>>(true);
  assertType<
    IsExact<
      ReduceShape<[2, 3], 2>,
      ShapeError<"Axis 2 is out of range for shape [2, 3] of rank 2">
    >
  >(true);
  assertType<
    IsExact<
      ReduceShape<[2, 3], [1, -1]>,
      ShapeError<
        "Cannot reduce shape [2, 3] over axes [1, -1]: axis 1 is listed twice"
      >
    >
  >(true);
});

Deno.test("conv2d and pool2d shapes", () => {
  assertType<
    IsExact<
      Conv2dShape<
        [64, 28, 28, 1],
        [5, 5, 1, 8],
        { stride: 2; padding: "same" }
      >,
      [64, 14, 14, 8]
    >
  >(true);
  // The Keras MNIST convnet.
  type B = 128;
  type C1 = Conv2dShape<[B, 28, 28, 1], [3, 3, 1, 32]>;
  type C2 = Conv2dShape<C1, [3, 3, 32, 64], { padding: "valid" }>;
  type P = Pool2dShape<C2, { size: 2 }>;
  assertType<IsExact<C1, [B, 26, 26, 32]>>(true);
  assertType<IsExact<C2, [B, 24, 24, 64]>>(true);
  assertType<IsExact<P, [B, 12, 12, 64]>>(true);
  assertType<IsExact<FlattenShape<P>, [B, 9216]>>(true);
  // The design sketch's network.
  type D1 = Conv2dShape<[64, 28, 28, 1], [5, 5, 1, 8]>;
  type D2 = Pool2dShape<
    Conv2dShape<Pool2dShape<D1, { size: 2 }>, [5, 5, 8, 16]>,
    {
      size: 2;
    }
  >;
  assertType<IsExact<D1, [64, 24, 24, 8]>>(true);
  assertType<IsExact<FlattenShape<D2>, [64, 256]>>(true);

  assertType<
    IsExact<
      Conv2dShape<
        [1, 10, 12, 3],
        [3, 3, 3, 4],
        { padding: [[1, 0], [2, 2]]; stride: [2, 3]; dilation: [1, 2] }
      >,
      [1, 5, 4, 4]
    >
  >(true);
  assertType<
    IsExact<
      Conv2dShape<[1, 7, 7, 2], [3, 3, 2, 5], { padding: 1; dilation: 2 }>,
      [1, 5, 5, 5]
    >
  >(true);
  assertType<
    IsExact<
      Conv2dShape<[1, 7, 7, 2], readonly [3, 3, 2, 5], {
        readonly stride: readonly [2, 2];
      }>,
      [1, 3, 3, 5]
    >
  >(true);
  assertType<
    IsExact<
      Pool2dShape<[2, 7, 7, 3], { size: 3; stride: 2; padding: "same" }>,
      [
        2,
        4,
        4,
        3,
      ]
    >
  >(true);
  assertType<
    IsExact<Pool2dShape<[2, 9, 8, 3], { size: [3, 2] }>, [2, 3, 4, 3]>
  >(true);

  // Unknown dims or options give number, never an error.
  assertType<
    IsExact<Conv2dShape<[number, 28, 28, 1], [5, 5, 1, 8]>, [number, 24, 24, 8]>
  >(true);
  assertType<
    IsExact<
      Conv2dShape<[2, number, 28, 1], [5, 5, number, 8], { stride: 2 }>,
      [2, number, 12, 8]
    >
  >(true);
  assertType<
    IsExact<
      Conv2dShape<[2, 28, 28, 1], [5, 5, 1, 8], { stride: number }>,
      [2, number, number, 8]
    >
  >(true);
  assertType<
    IsExact<
      Conv2dShape<[2, 28, 28, 1], [5, 5, 1, 8], Conv2dOptions>,
      [2, number, number, 8]
    >
  >(true);
  assertType<
    IsExact<Conv2dShape<Shape, [5, 5, 1, 8]>, [number, number, number, 8]>
  >(true);
  assertType<
    IsExact<Pool2dShape<[2, 28, 28, 1], Pool2dOptions>, [2, number, number, 1]>
  >(true);

  assertType<
    IsExact<
      Conv2dShape<[1, 28, 28, 3], [5, 5, 1, 8]>,
      ShapeError<
        "Cannot convolve input [1, 28, 28, 3] with kernel [5, 5, 1, 8]: input channels 3 and kernel in-channels 1 differ"
      >
    >
  >(true);
  assertType<
    IsExact<
      Conv2dShape<[28, 28, 1], [5, 5, 1, 8]>,
      ShapeError<
        "Cannot convolve input [28, 28, 1] with kernel [5, 5, 1, 8]: input must have rank 4 (NHWC) and kernel rank 4 (kH, kW, in, out)"
      >
    >
  >(true);
  assertType<
    IsExact<
      Conv2dShape<[1, 4, 9, 1], [3, 3, 1, 1], { dilation: 2 }>,
      ShapeError<
        "Cannot convolve input [1, 4, 9, 1] with kernel [3, 3, 1, 1]: the dilated kernel height 5 exceeds the padded input height 4"
      >
    >
  >(true);
  assertType<
    IsExact<
      Conv2dShape<[1, 9, 4, 1], [3, 5, 1, 1], { padding: [[0, 0], [0, 0]] }>,
      ShapeError<
        "Cannot convolve input [1, 9, 4, 1] with kernel [3, 5, 1, 1]: the dilated kernel width 5 exceeds the padded input width 4"
      >
    >
  >(true);
  assertType<
    IsExact<
      Conv2dShape<[1, 9, 9, 1], [3, 3, 1, 1], { stride: [2, 0] }>,
      ShapeError<"Expected stride to be a positive integer but found 0">
    >
  >(true);
  assertType<
    IsExact<
      Conv2dShape<[1, 9, 9, 1], [3, 3, 1, 1], { dilation: 1.5 }>,
      ShapeError<"Expected dilation to be a positive integer but found 1.5">
    >
  >(true);
  assertType<
    IsExact<
      Conv2dShape<[1, 9, 9, 1], [3, 3, 1, 1], { padding: [[1, -1], [0, 0]] }>,
      ShapeError<"Expected padding to be non-negative integers but found -1">
    >
  >(true);
  assertType<
    IsExact<
      Pool2dShape<[9, 9, 1], { size: 2 }>,
      ShapeError<"Cannot pool input [9, 9, 1]: input must have rank 4 (NHWC)">
    >
  >(true);
  assertType<
    IsExact<
      Pool2dShape<[1, 9, 2, 1], { size: 3 }>,
      ShapeError<
        "Cannot pool input [1, 9, 2, 1] with window 3x3: the window width 3 exceeds the padded input width 2"
      >
    >
  >(true);
  assertType<
    IsExact<
      Pool2dShape<[1, 9, 9, 1], { size: -2 }>,
      ShapeError<"Expected size to be a positive integer but found -2">
    >
  >(true);
});

Deno.test("global pooling, bias, dense and cross-entropy shapes", () => {
  assertType<IsExact<GlobalPool2dShape<[8, 7, 7, 64]>, [8, 64]>>(true);
  assertType<IsExact<GlobalPool2dShape<number[]>, [number, number]>>(true);
  assertType<
    IsExact<
      GlobalPool2dShape<[7, 7, 64]>,
      ShapeError<"Cannot pool input [7, 7, 64]: input must have rank 4 (NHWC)">
    >
  >(true);

  assertType<IsExact<BiasAddShape<[8, 10], [10]>, [8, 10]>>(true);
  assertType<IsExact<BiasAddShape<[8, number], [10]>, [8, number]>>(true);
  assertType<IsExact<BiasAddShape<number[], [10]>, number[]>>(true);
  assertType<
    IsExact<
      BiasAddShape<[8, 10], [12]>,
      ShapeError<
        "Cannot add a bias of shape [12] to channels of [8, 10]: expected [10]"
      >
    >
  >(true);
  assertType<
    IsExact<
      BiasAddShape<[8, 10], [1, 10]>,
      ShapeError<
        "Cannot add a bias of shape [1, 10] to channels of [8, 10]: expected [10]"
      >
    >
  >(true);
  assertType<
    IsExact<
      BiasAddShape<[], [3]>,
      ShapeError<
        "Cannot add a bias of shape [3] to channels of []: expected [C]"
      >
    >
  >(true);

  assertType<IsExact<DenseShape<[32, 784], 10>, [32, 10]>>(true);
  assertType<IsExact<DenseShape<[32, 784], 10, 784>, [32, 10]>>(true);
  assertType<IsExact<DenseShape<[32, number], 10, 784>, [32, 10]>>(true);
  assertType<IsExact<DenseShape<number[], 10>, [number, 10]>>(true);
  assertType<
    IsExact<
      DenseShape<[32, 4608], 10, 784>,
      ShapeError<"dense expects 784 input features but found 4608">
    >
  >(true);
  assertType<
    IsExact<
      DenseShape<[1, 6, 6, 4], 10>,
      ShapeError<
        "dense needs a rank-2 input [batch, features] but found [1, 6, 6, 4]: add flatten() before it"
      >
    >
  >(true);

  assertType<IsExact<CrossEntropyShape<[41, 10], [41], "int32">, []>>(true);
  assertType<IsExact<CrossEntropyShape<[41, 10], [41, 10], "float32">, []>>(
    true,
  );
  assertType<IsExact<CrossEntropyShape<number[], [43], "int32">, []>>(true);
  assertType<IsExact<CrossEntropyShape<[number, 10], [43], "int32">, []>>(
    true,
  );
  assertType<IsExact<CrossEntropyShape<[41, 10], number[], "int32">, []>>(
    true,
  );
  assertType<
    IsExact<
      CrossEntropyShape<[41, 10], [43], "int32">,
      ShapeError<
        "Expected labels of shape [41] for logits [41, 10] but found [43]"
      >
    >
  >(true);
  assertType<
    IsExact<
      CrossEntropyShape<[41, 10], [41, 10], "int32">,
      ShapeError<
        "Expected labels of shape [41] for logits [41, 10] but found [41, 10]"
      >
    >
  >(true);
  assertType<
    IsExact<
      CrossEntropyShape<[41, 10], [41, 9], "float32">,
      ShapeError<
        "Expected targets of shape [41, 10] for logits [41, 10] but found [41, 9]"
      >
    >
  >(true);
  assertType<
    IsExact<
      CrossEntropyShape<[41], [41], "int32">,
      ShapeError<
        "Expected logits of rank 2 [batch, classes] but found shape [41]"
      >
    >
  >(true);
});

declare const logits41: Tensor<[41, 10]>;
declare const logitsDyn: Tensor<number[]>;
declare const logitsRows: Tensor<[number, 10]>;
declare const imagesDyn: Tensor<number[]>;
declare const kernelDyn: Tensor<[number, 3, 1, 8]>;
declare const kernel3: Tensor<[3, 1, 8]>;

Deno.test("the nn ops accept shapes known only at run time and check label counts", () => {
  // Type-check only: the real ops on declared values.
  const _compileOnly = () => {
    const l0 = crossEntropy(logitsDyn, tensor(new Int32Array(43), [43]));
    assertType<IsExact<typeof l0, Tensor<[], "float32">>>(true);
    const l1 = crossEntropy(logitsRows, tensor(new Int32Array(43), [43]));
    assertType<IsExact<typeof l1, Tensor<[], "float32">>>(true);
    const l2 = crossEntropy(logits41, tensor(new Int32Array(41), [41]));
    assertType<IsExact<typeof l2, Tensor<[], "float32">>>(true);
    const l3 = crossEntropy(logits41, softmax(logits41));
    assertType<IsExact<typeof l3, Tensor<[], "float32">>>(true);
    // @ts-expect-error: Expected labels of shape [41] for logits [41, 10] but found [43]
    crossEntropy(logits41, tensor(new Int32Array(43), [43]));
    // @ts-expect-error: Expected targets of shape [41, 10] for logits [41, 10] but found [41, 9]
    crossEntropy(logits41, tensor(new Float32Array(369), [41, 9]));
    // @ts-expect-error: Expected logits of rank 2 [batch, classes] but found shape [41]
    crossEntropy(tensor(new Float32Array(41), [41]), logits41);

    const g0 = globalAvgPool2d(img);
    assertType<IsExact<typeof g0, Tensor<[64, 1]>>>(true);
    const g1 = globalAvgPool2d(imagesDyn);
    assertType<IsExact<typeof g1, Tensor<[number, number]>>>(true);
    // @ts-expect-error: Cannot pool input [2, 3]: input must have rank 4 (NHWC)
    globalAvgPool2d(m23);

    const c0 = conv2dOp(imagesDyn, kernelDyn);
    assertType<IsExact<typeof c0, Tensor<[number, number, number, 8]>>>(true);
    // What is known is still checked: the kernel's rank, the options.
    // @ts-expect-error: input must have rank 4 (NHWC) and kernel rank 4 (kH, kW, in, out)
    conv2dOp(imagesDyn, kernel3);
    // @ts-expect-error: Expected stride to be a positive integer but found 0
    conv2dOp(imagesDyn, kernelDyn, { stride: 0 });
    const p0 = maxPool2dOp(imagesDyn, { size: 2 });
    assertType<IsExact<typeof p0, Tensor<[number, number, number, number]>>>(
      true,
    );
    // @ts-expect-error: Expected size to be a positive integer but found 0
    maxPool2dOp(imagesDyn, { size: 0 });
    const mm = matmulOp(logitsDyn, m34);
    assertType<IsExact<typeof mm, Tensor<number[]>>>(true);
  };
});

// The Arg pattern: a failing rule turns the checked parameter into its message.
declare function add<A extends Shape, B extends Shape>(
  a: T<A>,
  b: Arg<BroadcastShapes<A, B>, T<B>>,
): T<Result<BroadcastShapes<A, B>>>;
declare function matmul<A extends Shape, B extends Shape>(
  a: T<A>,
  b: Arg<MatMulShape<A, B>, T<B>>,
): T<Result<MatMulShape<A, B>>>;
declare function transpose<S extends Shape, const P extends Shape>(
  x: T<S>,
  perm: Arg<TransposeShape<S, P>, P>,
): T<Result<TransposeShape<S, P>>>;
declare function reshape<S extends Shape, const U extends Shape>(
  x: T<S>,
  shape: Arg<ReshapeShape<S, U>, U>,
): T<Result<ReshapeShape<S, U>>>;
declare function flatten<S extends Shape>(
  x: Arg<FlattenShape<S>, T<S>>,
): T<Result<FlattenShape<S>>>;
declare function squeeze<S extends Shape, const A extends number>(
  x: T<S>,
  axis: Arg<SqueezeShape<S, A>, A>,
): T<Result<SqueezeShape<S, A>>>;
declare function expandDims<S extends Shape, const A extends number>(
  x: T<S>,
  axis: Arg<ExpandDimsShape<S, A>, A>,
): T<Result<ExpandDimsShape<S, A>>>;
declare function concat<
  const L extends readonly Shape[],
  const A extends number,
>(
  shapes: L,
  axis: Arg<ConcatShape<L, A>, A>,
): T<Result<ConcatShape<L, A>>>;
declare function slice<
  S extends Shape,
  const A extends number,
  const E extends number,
>(
  x: T<S>,
  start: A,
  end: Arg<SliceShape<S, A, E>, E>,
): T<Result<SliceShape<S, A, E>>>;
declare function sum<
  S extends Shape,
  const A extends number | Shape | undefined,
>(
  x: T<S>,
  axis: Arg<ReduceShape<S, A>, A>,
): T<Result<ReduceShape<S, A>>>;
// Literal options keep their literal types only when the options parameter is
// the bare `O`, so conv and pool report through the tensor parameter.
declare function conv2d<
  X extends Shape,
  W extends Shape,
  const O extends Conv2dOptions = Record<never, never>,
>(
  x: T<X>,
  w: Arg<Conv2dShape<X, W, O>, T<W>>,
  opts?: O,
): T<Result<Conv2dShape<X, W, O>>>;
declare function maxPool2d<X extends Shape, const O extends Pool2dOptions>(
  x: Arg<Pool2dShape<X, O>, T<X>>,
  opts: O,
): T<Result<Pool2dShape<X, O>>>;

declare const m23: T<[2, 3]>;
declare const m34: T<[3, 4]>;
declare const m45: T<[4, 5]>;
declare const v3: T<[3]>;
declare const v4: T<[4]>;
declare const s: T<[]>;
declare const img: T<[64, 28, 28, 1]>;
declare const k8: T<[5, 5, 1, 8]>;
declare const k3: T<[5, 5, 3, 8]>;
declare const dyn: T<[number, 3]>;

Deno.test("the Arg pattern accepts valid calls and infers result shapes", () => {
  // Declared functions and values do not exist at run time: type-check only.
  const _compileOnly = () => {
    const r0 = add(m23, v3);
    assertType<IsExact<typeof r0, T<[2, 3]>>>(true);
    const r1 = matmul(m23, m34);
    assertType<IsExact<typeof r1, T<[2, 4]>>>(true);
    const r2 = conv2d(img, k8, { stride: 2, padding: "same" });
    assertType<IsExact<typeof r2, T<[64, 14, 14, 8]>>>(true);
    const r3 = maxPool2d(r2, { size: 2 });
    assertType<IsExact<typeof r3, T<[64, 7, 7, 8]>>>(true);
    const r4 = reshape(r3, [-1, 392]);
    assertType<IsExact<typeof r4, T<[64, 392]>>>(true);
    const r5 = sum(m23, [0]);
    assertType<IsExact<typeof r5, T<[3]>>>(true);
    const r6 = transpose(m23, [1, 0]);
    assertType<IsExact<typeof r6, T<[3, 2]>>>(true);
    const r7 = slice(m23, 0, 1);
    assertType<IsExact<typeof r7, T<[1, 3]>>>(true);
    const r8 = matmul(dyn, m34); // unknown dim: no compile error
    assertType<IsExact<typeof r8, T<[number, 4]>>>(true);
  };
});

Deno.test("the Arg pattern rejects each failure kind at compile time", () => {
  // Wrapped in a never-called function: only the type checker looks at these;
  // an unused @ts-expect-error fails the check, so each line must be rejected.
  const _compileOnly = () => {
    // @ts-expect-error: dims 3 and 4 differ and neither is 1
    add(m23, v4);
    // @ts-expect-error: inner dimensions 3 and 4 differ
    matmul(m23, m45);
    // @ts-expect-error: rank 1 is not a matrix
    matmul(v4, m45);
    // @ts-expect-error: axis 0 listed twice
    transpose(m23, [0, 0]);
    // @ts-expect-error: 6 elements cannot become 8
    reshape(m23, [4, 2]);
    // @ts-expect-error: 6 is not divisible by 4
    reshape(m23, [-1, 4]);
    // @ts-expect-error: two -1 dims
    reshape(m23, [-1, -1]);
    // @ts-expect-error: a scalar cannot be flattened
    flatten(s);
    // @ts-expect-error: dim 3 is not 1
    squeeze(m23, 1);
    // @ts-expect-error: axis 2 is out of range for rank 2
    squeeze(m23, 2);
    // @ts-expect-error: axis 3 is out of range for expandDims of rank 2
    expandDims(m23, 3);
    // @ts-expect-error: dims at axis 1 differ
    concat([[2, 3], [4, 5]], 0);
    // @ts-expect-error: ranks differ
    concat([[2, 3], [4]], 0);
    // @ts-expect-error: end 3 is past the 2 rows
    slice(m23, 1, 3);
    // @ts-expect-error: axis 1 listed twice
    sum(m23, [1, -1]);
    // @ts-expect-error: input channels 1 and kernel in-channels 3 differ
    conv2d(img, k3);
    // @ts-expect-error: input is not NHWC
    conv2d(m23, k8);
    // @ts-expect-error: the dilated kernel (41) exceeds the input (28)
    conv2d(img, k8, { dilation: 10 });
    // @ts-expect-error: stride 0
    conv2d(img, k8, { stride: 0 });
    // @ts-expect-error: negative padding
    conv2d(img, k8, { padding: -1 });
    // @ts-expect-error: pooling needs rank 4
    maxPool2d(m23, { size: 2 });
    // @ts-expect-error: the window (30) exceeds the input (28)
    maxPool2d(img, { size: 30 });
  };
});
