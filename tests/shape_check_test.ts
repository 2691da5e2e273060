// Runtime shape rules, and their agreement with the type-level twins: each
// failure message is written once and checked against both the type the rule
// resolves to and the RangeError its runtime twin throws.

import { assertEquals, assertThrows } from "@std/assert";
import type { Shape } from "../src/tensor.ts";
import {
  biasAddShape,
  broadcastShapes,
  concatShape,
  conv2dGeometry,
  conv2dShape,
  crossEntropyShape,
  denseShape,
  expandDimsShape,
  flattenShape,
  globalPool2dShape,
  matmulShape,
  normalizeAxis,
  pool2dGeometry,
  pool2dShape,
  reduceShape,
  reshapeShape,
  samePadding,
  showShape,
  sliceShape,
  squeezeShape,
  transposeShape,
} from "../src/shape/mod.ts";
import type {
  BiasAddShape,
  BroadcastShapes,
  ConcatShape,
  Conv2dShape,
  CrossEntropyShape,
  DenseShape,
  ExpandDimsShape,
  FlattenShape,
  GlobalPool2dShape,
  MatMulShape,
  Pool2dShape,
  ReduceShape,
  ReshapeShape,
  ShapeError,
  SliceShape,
  SqueezeShape,
  TransposeShape,
} from "../src/shape/mod.ts";

/**
 * A success case: `expected` must have the type the rule `R` resolves to (a
 * wrong literal does not compile) and equal the runtime result.
 */
function ok<R extends Shape>(expected: R, actual: () => number[]) {
  return { expected: expected as Shape, actual };
}

/**
 * A failure case: `message` must be the literal message of the type-level
 * error `R` (any other text does not compile) and the runtime twin must throw a
 * RangeError with exactly that text.
 */
function fails<R extends ShapeError<string>>(
  message: R["shapeError"],
  run: () => unknown,
) {
  return { message: message as string, run };
}

const successes = {
  "broadcast trailing": ok<BroadcastShapes<[2, 3], [3]>>(
    [2, 3],
    () => broadcastShapes([2, 3], [3]),
  ),
  "broadcast ones": ok<BroadcastShapes<[4, 1, 3], [5, 1]>>(
    [4, 5, 3],
    () => broadcastShapes([4, 1, 3], [5, 1]),
  ),
  "broadcast scalar": ok<BroadcastShapes<[], [2, 2]>>(
    [2, 2],
    () => broadcastShapes([], [2, 2]),
  ),
  "matmul": ok<MatMulShape<[2, 3], [3, 4]>>(
    [2, 4],
    () => matmulShape([2, 3], [3, 4]),
  ),
  "matmul batched": ok<MatMulShape<[5, 1, 2, 3], [7, 3, 4]>>(
    [5, 7, 2, 4],
    () => matmulShape([5, 1, 2, 3], [7, 3, 4]),
  ),
  "transpose reversed": ok<TransposeShape<[2, 3, 4]>>(
    [4, 3, 2],
    () => transposeShape([2, 3, 4]),
  ),
  "transpose perm": ok<TransposeShape<[2, 3, 4], [1, 0, 2]>>(
    [3, 2, 4],
    () => transposeShape([2, 3, 4], [1, 0, 2]),
  ),
  "transpose negative perm": ok<TransposeShape<[2, 3, 4], [-1, 0, 1]>>(
    [4, 2, 3],
    () => transposeShape([2, 3, 4], [-1, 0, 1]),
  ),
  "reshape": ok<ReshapeShape<[2, 3, 4], [6, 4]>>(
    [6, 4],
    () => reshapeShape([2, 3, 4], [6, 4]),
  ),
  "reshape inferred": ok<ReshapeShape<[60000, 28, 28], [-1, 784]>>(
    [60000, 784],
    () => reshapeShape([60000, 28, 28], [-1, 784]),
  ),
  "flatten": ok<FlattenShape<[64, 12, 12, 64]>>(
    [64, 9216],
    () => flattenShape([64, 12, 12, 64]),
  ),
  "flatten rank 1": ok<FlattenShape<[5]>>([5, 1], () => flattenShape([5])),
  "squeeze": ok<SqueezeShape<[2, 1, 3], 1>>(
    [2, 3],
    () => squeezeShape([2, 1, 3], 1),
  ),
  "squeeze negative": ok<SqueezeShape<[2, 3, 1], -1>>(
    [2, 3],
    () => squeezeShape([2, 3, 1], -1),
  ),
  "expandDims front": ok<ExpandDimsShape<[2, 3], 0>>(
    [1, 2, 3],
    () => expandDimsShape([2, 3], 0),
  ),
  "expandDims end": ok<ExpandDimsShape<[2, 3], 2>>(
    [2, 3, 1],
    () => expandDimsShape([2, 3], 2),
  ),
  "expandDims -1": ok<ExpandDimsShape<[2, 3], -1>>(
    [2, 3, 1],
    () => expandDimsShape([2, 3], -1),
  ),
  "expandDims -3": ok<ExpandDimsShape<[2, 3], -3>>(
    [1, 2, 3],
    () => expandDimsShape([2, 3], -3),
  ),
  "concat": ok<ConcatShape<[[2, 3], [4, 3]], 0>>(
    [6, 3],
    () => concatShape([[2, 3], [4, 3]], 0),
  ),
  "concat three": ok<ConcatShape<[[2, 3], [2, 5], [2, 1]], -1>>(
    [2, 9],
    () => concatShape([[2, 3], [2, 5], [2, 1]], -1),
  ),
  "slice": ok<SliceShape<[10, 3], 2, 5>>(
    [3, 3],
    () => sliceShape([10, 3], 2, 5),
  ),
  "slice all": ok<SliceShape<[10, 3], 0, 10>>(
    [10, 3],
    () => sliceShape([10, 3], 0, 10),
  ),
  "reduce all": ok<ReduceShape<[2, 3, 4]>>([], () => reduceShape([2, 3, 4])),
  "reduce all keepDims": ok<ReduceShape<[2, 3, 4], undefined, true>>(
    [1, 1, 1],
    () => reduceShape([2, 3, 4], undefined, true),
  ),
  "reduce one": ok<ReduceShape<[2, 3, 4], 1>>(
    [2, 4],
    () => reduceShape([2, 3, 4], 1),
  ),
  "reduce -1 keepDims": ok<ReduceShape<[2, 3, 4], -1, true>>(
    [2, 3, 1],
    () => reduceShape([2, 3, 4], -1, true),
  ),
  "reduce list": ok<ReduceShape<[2, 3, 4], [0, 2]>>(
    [3],
    () => reduceShape([2, 3, 4], [0, 2]),
  ),
  "reduce list keepDims": ok<ReduceShape<[2, 3, 4], [0, -1], true>>(
    [1, 3, 1],
    () => reduceShape([2, 3, 4], [0, -1], true),
  ),
  "conv same stride 2": ok<
    Conv2dShape<[64, 28, 28, 1], [5, 5, 1, 8], { stride: 2; padding: "same" }>
  >(
    [64, 14, 14, 8],
    () =>
      conv2dShape([64, 28, 28, 1], [5, 5, 1, 8], {
        stride: 2,
        padding: "same",
      }),
  ),
  "conv keras 1": ok<Conv2dShape<[128, 28, 28, 1], [3, 3, 1, 32]>>(
    [128, 26, 26, 32],
    () => conv2dShape([128, 28, 28, 1], [3, 3, 1, 32]),
  ),
  "conv keras 2": ok<Conv2dShape<[128, 26, 26, 32], [3, 3, 32, 64]>>(
    [128, 24, 24, 64],
    () => conv2dShape([128, 26, 26, 32], [3, 3, 32, 64], { padding: "valid" }),
  ),
  "conv explicit padding, stride and dilation": ok<
    Conv2dShape<
      [1, 10, 12, 3],
      [3, 3, 3, 4],
      { padding: [[1, 0], [2, 2]]; stride: [2, 3]; dilation: [1, 2] }
    >
  >(
    [1, 5, 4, 4],
    () =>
      conv2dShape([1, 10, 12, 3], [3, 3, 3, 4], {
        padding: [[1, 0], [2, 2]],
        stride: [2, 3],
        dilation: [1, 2],
      }),
  ),
  "conv number padding": ok<
    Conv2dShape<[1, 7, 7, 2], [3, 3, 2, 5], { padding: 1; dilation: 2 }>
  >(
    [1, 5, 5, 5],
    () => conv2dShape([1, 7, 7, 2], [3, 3, 2, 5], { padding: 1, dilation: 2 }),
  ),
  "pool keras": ok<Pool2dShape<[128, 24, 24, 64], { size: 2 }>>(
    [128, 12, 12, 64],
    () => pool2dShape([128, 24, 24, 64], { size: 2 }),
  ),
  "pool same": ok<
    Pool2dShape<[2, 7, 7, 3], { size: 3; stride: 2; padding: "same" }>
  >(
    [2, 4, 4, 3],
    () => pool2dShape([2, 7, 7, 3], { size: 3, stride: 2, padding: "same" }),
  ),
  "pool rectangular window": ok<Pool2dShape<[2, 9, 8, 3], { size: [3, 2] }>>(
    [2, 3, 4, 3],
    () => pool2dShape([2, 9, 8, 3], { size: [3, 2] }),
  ),
  "global pool": ok<GlobalPool2dShape<[8, 7, 7, 64]>>(
    [8, 64],
    () => globalPool2dShape([8, 7, 7, 64]),
  ),
  "bias add": ok<BiasAddShape<[8, 6, 6, 4], [4]>>(
    [8, 6, 6, 4],
    () => biasAddShape([8, 6, 6, 4], [4]),
  ),
  "dense": ok<DenseShape<[32, 784], 10>>(
    [32, 10],
    () => denseShape([32, 784], 10),
  ),
  "dense declared inputs": ok<DenseShape<[32, 784], 10, 784>>(
    [32, 10],
    () => denseShape([32, 784], 10, 784),
  ),
  "cross-entropy labels": ok<CrossEntropyShape<[41, 10], [41], "int32">>(
    [],
    () => crossEntropyShape([41, 10], [41], "int32"),
  ),
  "cross-entropy targets": ok<
    CrossEntropyShape<[41, 10], [41, 10], "float32">
  >(
    [],
    () => crossEntropyShape([41, 10], [41, 10], "float32"),
  ),
};

const failures = {
  "broadcast": fails<BroadcastShapes<[2, 3], [4]>>(
    "Cannot broadcast shapes [2, 3] and [4]: dims 3 and 4 differ and neither is 1",
    () => broadcastShapes([2, 3], [4]),
  ),
  "matmul inner": fails<MatMulShape<[2, 3], [4, 5]>>(
    "Cannot multiply matrices of shapes [2, 3] and [4, 5]: inner dimensions 3 and 4 differ",
    () => matmulShape([2, 3], [4, 5]),
  ),
  "matmul rank": fails<MatMulShape<[3], [3, 4]>>(
    "Cannot multiply matrices of shapes [3] and [3, 4]: both need rank 2 or more",
    () => matmulShape([3], [3, 4]),
  ),
  "matmul batch": fails<MatMulShape<[2, 2, 3], [3, 3, 4]>>(
    "Cannot broadcast shapes [2] and [3]: dims 2 and 3 differ and neither is 1",
    () => matmulShape([2, 2, 3], [3, 3, 4]),
  ),
  "transpose duplicate": fails<TransposeShape<[2, 3], [0, 0]>>(
    "Cannot transpose shape [2, 3] with permutation [0, 0]: it must list each axis from 0 to 1 exactly once",
    () => transposeShape([2, 3], [0, 0]),
  ),
  "transpose length": fails<TransposeShape<[2, 3, 4], [1, 0]>>(
    "Cannot transpose shape [2, 3, 4] with permutation [1, 0]: it must list each axis from 0 to 2 exactly once",
    () => transposeShape([2, 3, 4], [1, 0]),
  ),
  "transpose range": fails<TransposeShape<[2, 3], [2, 0]>>(
    "Cannot transpose shape [2, 3] with permutation [2, 0]: it must list each axis from 0 to 1 exactly once",
    () => transposeShape([2, 3], [2, 0]),
  ),
  "reshape count": fails<ReshapeShape<[2, 3], [4, 2]>>(
    "Cannot reshape [2, 3] (6 elements) to [4, 2] (8 elements)",
    () => reshapeShape([2, 3], [4, 2]),
  ),
  "reshape divisible": fails<ReshapeShape<[2, 3], [-1, 4]>>(
    "Cannot reshape [2, 3] (6 elements) to [-1, 4]: 6 is not divisible by 4",
    () => reshapeShape([2, 3], [-1, 4]),
  ),
  "reshape two -1": fails<ReshapeShape<[2, 3], [-1, -1]>>(
    "Cannot reshape [2, 3] to [-1, -1]: at most one dim may be -1",
    () => reshapeShape([2, 3], [-1, -1]),
  ),
  "reshape bad dim": fails<ReshapeShape<[2, 3], [-2, 3]>>(
    "Cannot reshape [2, 3] to [-2, 3]: dims must be non-negative integers or -1",
    () => reshapeShape([2, 3], [-2, 3]),
  ),
  "reshape -1 with zero": fails<ReshapeShape<[0, 3], [-1, 0]>>(
    "Cannot reshape [0, 3] (0 elements) to [-1, 0]: the -1 dim cannot be inferred when the other dims multiply to 0",
    () => reshapeShape([0, 3], [-1, 0]),
  ),
  "flatten scalar": fails<FlattenShape<[]>>(
    "Cannot flatten a scalar: flatten needs rank 1 or more",
    () => flattenShape([]),
  ),
  "squeeze dim": fails<SqueezeShape<[2, 3], 1>>(
    "Cannot squeeze axis 1 of shape [2, 3]: its dim is 3, not 1",
    () => squeezeShape([2, 3], 1),
  ),
  "squeeze axis": fails<SqueezeShape<[2, 3], -3>>(
    "Axis -3 is out of range for shape [2, 3] of rank 2",
    () => squeezeShape([2, 3], -3),
  ),
  "expandDims axis": fails<ExpandDimsShape<[2, 3], 3>>(
    "Axis 3 is out of range for shape [2, 3] of rank 2",
    () => expandDimsShape([2, 3], 3),
  ),
  "expandDims negative axis": fails<ExpandDimsShape<[2, 3], -4>>(
    "Axis -4 is out of range for shape [2, 3] of rank 2",
    () => expandDimsShape([2, 3], -4),
  ),
  "concat dims": fails<ConcatShape<[[2, 3], [4, 5]], 0>>(
    "Cannot concatenate shapes [2, 3] and [4, 5] along axis 0: dims at axis 1 are 3 and 5",
    () => concatShape([[2, 3], [4, 5]], 0),
  ),
  "concat third shape": fails<ConcatShape<[[2, 3], [2, 1], [4, 1]], -1>>(
    "Cannot concatenate shapes [2, 3] and [4, 1] along axis -1: dims at axis 0 are 2 and 4",
    () => concatShape([[2, 3], [2, 1], [4, 1]], -1),
  ),
  "concat ranks": fails<ConcatShape<[[2, 3], [4]], 0>>(
    "Cannot concatenate shapes [2, 3] and [4]: ranks 2 and 1 differ",
    () => concatShape([[2, 3], [4]], 0),
  ),
  "concat axis": fails<ConcatShape<[[2, 3], [2, 3]], 2>>(
    "Axis 2 is out of range for shape [2, 3] of rank 2",
    () => concatShape([[2, 3], [2, 3]], 2),
  ),
  "concat empty": fails<ConcatShape<[], 0>>(
    "Cannot concatenate an empty list of shapes",
    () => concatShape([], 0),
  ),
  "slice end": fails<SliceShape<[10, 3], 4, 11>>(
    "Cannot slice rows 4 to 11 of shape [10, 3]: need 0 <= start <= end <= 10",
    () => sliceShape([10, 3], 4, 11),
  ),
  "slice reversed": fails<SliceShape<[10, 3], 5, 4>>(
    "Cannot slice rows 5 to 4 of shape [10, 3]: need 0 <= start <= end <= 10",
    () => sliceShape([10, 3], 5, 4),
  ),
  "slice negative": fails<SliceShape<[10, 3], -1, 4>>(
    "Cannot slice rows -1 to 4 of shape [10, 3]: need 0 <= start <= end <= 10",
    () => sliceShape([10, 3], -1, 4),
  ),
  "slice scalar": fails<SliceShape<[], 0, 0>>(
    "Cannot slice a scalar: slice needs rank 1 or more",
    () => sliceShape([], 0, 0),
  ),
  "reduce axis": fails<ReduceShape<[2, 3], 2>>(
    "Axis 2 is out of range for shape [2, 3] of rank 2",
    () => reduceShape([2, 3], 2),
  ),
  "reduce axis in list": fails<ReduceShape<[2, 3], [0, -3]>>(
    "Axis -3 is out of range for shape [2, 3] of rank 2",
    () => reduceShape([2, 3], [0, -3]),
  ),
  "reduce duplicate": fails<ReduceShape<[2, 3], [1, -1]>>(
    "Cannot reduce shape [2, 3] over axes [1, -1]: axis 1 is listed twice",
    () => reduceShape([2, 3], [1, -1]),
  ),
  "conv rank": fails<Conv2dShape<[28, 28, 1], [5, 5, 1, 8]>>(
    "Cannot convolve input [28, 28, 1] with kernel [5, 5, 1, 8]: input must have rank 4 (NHWC) and kernel rank 4 (kH, kW, in, out)",
    () => conv2dShape([28, 28, 1], [5, 5, 1, 8]),
  ),
  "conv kernel rank": fails<Conv2dShape<[1, 28, 28, 1], [5, 5, 8]>>(
    "Cannot convolve input [1, 28, 28, 1] with kernel [5, 5, 8]: input must have rank 4 (NHWC) and kernel rank 4 (kH, kW, in, out)",
    () => conv2dShape([1, 28, 28, 1], [5, 5, 8]),
  ),
  "conv channels": fails<Conv2dShape<[1, 28, 28, 3], [5, 5, 1, 8]>>(
    "Cannot convolve input [1, 28, 28, 3] with kernel [5, 5, 1, 8]: input channels 3 and kernel in-channels 1 differ",
    () => conv2dShape([1, 28, 28, 3], [5, 5, 1, 8]),
  ),
  "conv height": fails<
    Conv2dShape<[1, 4, 9, 1], [3, 3, 1, 1], { dilation: 2 }>
  >(
    "Cannot convolve input [1, 4, 9, 1] with kernel [3, 3, 1, 1]: the dilated kernel height 5 exceeds the padded input height 4",
    () => conv2dShape([1, 4, 9, 1], [3, 3, 1, 1], { dilation: 2 }),
  ),
  "conv width": fails<
    Conv2dShape<[1, 9, 4, 1], [3, 5, 1, 1], { padding: [[0, 0], [0, 0]] }>
  >(
    "Cannot convolve input [1, 9, 4, 1] with kernel [3, 5, 1, 1]: the dilated kernel width 5 exceeds the padded input width 4",
    () =>
      conv2dShape([1, 9, 4, 1], [3, 5, 1, 1], { padding: [[0, 0], [0, 0]] }),
  ),
  "conv stride": fails<
    Conv2dShape<[1, 9, 9, 1], [3, 3, 1, 1], { stride: [2, 0] }>
  >(
    "Expected stride to be a positive integer but found 0",
    () => conv2dShape([1, 9, 9, 1], [3, 3, 1, 1], { stride: [2, 0] }),
  ),
  "conv dilation": fails<
    Conv2dShape<[1, 9, 9, 1], [3, 3, 1, 1], { dilation: 1.5 }>
  >(
    "Expected dilation to be a positive integer but found 1.5",
    () => conv2dShape([1, 9, 9, 1], [3, 3, 1, 1], { dilation: 1.5 }),
  ),
  "conv padding": fails<
    Conv2dShape<[1, 9, 9, 1], [3, 3, 1, 1], { padding: [[1, -1], [0, 0]] }>
  >(
    "Expected padding to be non-negative integers but found -1",
    () =>
      conv2dShape([1, 9, 9, 1], [3, 3, 1, 1], { padding: [[1, -1], [0, 0]] }),
  ),
  "pool rank": fails<Pool2dShape<[9, 9, 1], { size: 2 }>>(
    "Cannot pool input [9, 9, 1]: input must have rank 4 (NHWC)",
    () => pool2dShape([9, 9, 1], { size: 2 }),
  ),
  "pool height": fails<Pool2dShape<[1, 2, 9, 1], { size: [3, 1] }>>(
    "Cannot pool input [1, 2, 9, 1] with window 3x1: the window height 3 exceeds the padded input height 2",
    () => pool2dShape([1, 2, 9, 1], { size: [3, 1] }),
  ),
  "pool width": fails<Pool2dShape<[1, 9, 2, 1], { size: 3; padding: 0 }>>(
    "Cannot pool input [1, 9, 2, 1] with window 3x3: the window width 3 exceeds the padded input width 2",
    () => pool2dShape([1, 9, 2, 1], { size: 3, padding: 0 }),
  ),
  "pool size": fails<Pool2dShape<[1, 9, 9, 1], { size: -2 }>>(
    "Expected size to be a positive integer but found -2",
    () => pool2dShape([1, 9, 9, 1], { size: -2 }),
  ),
  "pool stride": fails<Pool2dShape<[1, 9, 9, 1], { size: 2; stride: 0 }>>(
    "Expected stride to be a positive integer but found 0",
    () => pool2dShape([1, 9, 9, 1], { size: 2, stride: 0 }),
  ),
  "global pool rank": fails<GlobalPool2dShape<[7, 7, 64]>>(
    "Cannot pool input [7, 7, 64]: input must have rank 4 (NHWC)",
    () => globalPool2dShape([7, 7, 64]),
  ),
  "bias channels": fails<BiasAddShape<[8, 10], [12]>>(
    "Cannot add a bias of shape [12] to channels of [8, 10]: expected [10]",
    () => biasAddShape([8, 10], [12]),
  ),
  "bias rank": fails<BiasAddShape<[8, 10], [1, 10]>>(
    "Cannot add a bias of shape [1, 10] to channels of [8, 10]: expected [10]",
    () => biasAddShape([8, 10], [1, 10]),
  ),
  "bias on a scalar": fails<BiasAddShape<[], [3]>>(
    "Cannot add a bias of shape [3] to channels of []: expected [C]",
    () => biasAddShape([], [3]),
  ),
  "dense features": fails<DenseShape<[32, 4608], 10, 784>>(
    "dense expects 784 input features but found 4608",
    () => denseShape([32, 4608], 10, 784),
  ),
  "dense rank": fails<DenseShape<[1, 6, 6, 4], 10>>(
    "dense needs a rank-2 input [batch, features] but found [1, 6, 6, 4]: add flatten() before it",
    () => denseShape([1, 6, 6, 4], 10),
  ),
  "cross-entropy label count": fails<
    CrossEntropyShape<[41, 10], [43], "int32">
  >(
    "Expected labels of shape [41] for logits [41, 10] but found [43]",
    () => crossEntropyShape([41, 10], [43], "int32"),
  ),
  "cross-entropy label rank": fails<
    CrossEntropyShape<[41, 10], [41, 10], "int32">
  >(
    "Expected labels of shape [41] for logits [41, 10] but found [41, 10]",
    () => crossEntropyShape([41, 10], [41, 10], "int32"),
  ),
  "cross-entropy targets": fails<
    CrossEntropyShape<[41, 10], [41, 9], "float32">
  >(
    "Expected targets of shape [41, 10] for logits [41, 10] but found [41, 9]",
    () => crossEntropyShape([41, 10], [41, 9], "float32"),
  ),
  "cross-entropy logits rank": fails<CrossEntropyShape<[41], [41], "int32">>(
    "Expected logits of rank 2 [batch, classes] but found shape [41]",
    () => crossEntropyShape([41], [41], "int32"),
  ),
};

/** Asserts that `fn` throws an instance of `ErrorClass` whose message is exactly `message`. */
function assertThrowsExactly(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass: new (...args: any[]) => Error,
  message: string,
): void {
  const error = assertThrows(fn, ErrorClass);
  assertEquals(error.message, message);
}

Deno.test("runtime rules give the shapes the type-level rules give", () => {
  for (const [name, { expected, actual }] of Object.entries(successes)) {
    assertEquals(actual(), expected, name);
  }
});

Deno.test("runtime rules throw the messages the type-level rules give", () => {
  for (const [name, { message, run }] of Object.entries(failures)) {
    const error = assertThrows(run, RangeError);
    assertEquals(error.message, message, name);
  }
});

Deno.test("showShape prints dims in brackets", () => {
  assertEquals(showShape([]), "[]");
  assertEquals(showShape([2, 3]), "[2, 3]");
  assertEquals(showShape([7]), "[7]");
});

Deno.test("normalizeAxis counts negative axes from the end", () => {
  assertEquals(normalizeAxis([2, 3, 4], 0), 0);
  assertEquals(normalizeAxis([2, 3, 4], -1), 2);
  assertEquals(normalizeAxis([2, 3, 4], -3), 0);
  assertThrowsExactly(
    () => normalizeAxis([2, 3, 4], 3),
    RangeError,
    "Axis 3 is out of range for shape [2, 3, 4] of rank 3",
  );
  assertThrowsExactly(
    () => normalizeAxis([2, 3], 0.5),
    RangeError,
    "Axis 0.5 is out of range for shape [2, 3] of rank 2",
  );
});

Deno.test("rules pass dims known only at run time through the checks", () => {
  // With `number` dims the types defer to these runtime checks.
  const n: number = 7;
  assertEquals(reshapeShape([n, 28, 28], [-1, 784]), [7, 784]);
  assertEquals(flattenShape([n, 4, 4]), [7, 16]);
  assertThrowsExactly(
    () => matmulShape([2, n], [3, 4]),
    RangeError,
    "Cannot multiply matrices of shapes [2, 7] and [3, 4]: inner dimensions 7 and 3 differ",
  );
  assertThrowsExactly(
    () => conv2dShape([1, n, 9, 1], [8, 3, 1, 1]),
    RangeError,
    "Cannot convolve input [1, 7, 9, 1] with kernel [8, 3, 1, 1]: the dilated kernel height 8 exceeds the padded input height 7",
  );
});

Deno.test("samePadding follows TensorFlow: the odd pixel goes after", () => {
  // in 28, k 5, s 2: out 14, total (13 * 2 + 5 - 28) = 3 -> [1, 2].
  assertEquals(samePadding(28, 5, 2, 1), [1, 2]);
  // in 28, k 5, s 1: out 28, total 4 -> [2, 2].
  assertEquals(samePadding(28, 5, 1, 1), [2, 2]);
  // in 7, k 3, s 2, d 2: ek 5, out 4, total 6 + 5 - 7 = 4 -> [2, 2].
  assertEquals(samePadding(7, 3, 2, 2), [2, 2]);
  // Stride larger than the kernel can need no padding at all.
  assertEquals(samePadding(8, 2, 4, 1), [0, 0]);
});

Deno.test("conv2dGeometry returns every number a kernel needs", () => {
  assertEquals(
    conv2dGeometry([64, 28, 28, 1], [5, 5, 1, 8], {
      stride: 2,
      padding: "same",
    }),
    {
      n: 64,
      h: 28,
      w: 28,
      c: 1,
      kh: 5,
      kw: 5,
      o: 8,
      outH: 14,
      outW: 14,
      strideH: 2,
      strideW: 2,
      dilH: 1,
      dilW: 1,
      padTop: 1,
      padBottom: 2,
      padLeft: 1,
      padRight: 2,
    },
  );
  assertEquals(
    conv2dGeometry([2, 10, 12, 3], [3, 3, 3, 4], {
      padding: [[1, 0], [2, 2]],
      stride: [2, 3],
      dilation: [1, 2],
    }),
    {
      n: 2,
      h: 10,
      w: 12,
      c: 3,
      kh: 3,
      kw: 3,
      o: 4,
      outH: 5,
      outW: 4,
      strideH: 2,
      strideW: 3,
      dilH: 1,
      dilW: 2,
      padTop: 1,
      padBottom: 0,
      padLeft: 2,
      padRight: 2,
    },
  );
});

Deno.test("pool2dGeometry uses the window as kernel and stride", () => {
  assertEquals(pool2dGeometry([2, 7, 7, 3], { size: 3, padding: "same" }), {
    n: 2,
    h: 7,
    w: 7,
    c: 3,
    kh: 3,
    kw: 3,
    o: 3,
    outH: 3,
    outW: 3,
    strideH: 3,
    strideW: 3,
    dilH: 1,
    dilW: 1,
    padTop: 1,
    padBottom: 1,
    padLeft: 1,
    padRight: 1,
  });
});

Deno.test("conv2dGeometry rejects malformed options from untyped callers", () => {
  const bad = { padding: "full" } as unknown as { padding: "valid" };
  assertThrowsExactly(
    () => conv2dGeometry([1, 9, 9, 1], [3, 3, 1, 1], bad),
    TypeError,
    'Expected padding to be "valid", "same", a number or [[top, bottom], [left, right]] but found "full"',
  );
  const short = { stride: [2] } as unknown as { stride: number };
  assertThrowsExactly(
    () => conv2dGeometry([1, 9, 9, 1], [3, 3, 1, 1], short),
    RangeError,
    "Expected stride to be a positive integer but found undefined",
  );
});
