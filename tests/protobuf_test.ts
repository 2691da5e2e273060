import { assertEquals, assertThrows } from "@std/assert";
import { ProtoWriter } from "../src/export/protobuf.ts";

Deno.test("protobuf writer: varints, negative int64, floats, strings, nested messages", () => {
  assertEquals([...new ProtoWriter().int(1, 300).finish()], [0x08, 0xac, 0x02]);
  assertEquals(
    [...new ProtoWriter().int(3, -1).finish()],
    [0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
  );
  assertEquals(
    [...new ProtoWriter().int(1, 2 ** 40).finish()],
    [0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20],
  );
  assertEquals([...new ProtoWriter().float(2, 1).finish()], [
    0x15,
    0,
    0,
    0x80,
    0x3f,
  ]);
  assertEquals([...new ProtoWriter().string(4, "Relu").finish()], [
    0x22,
    4,
    ..."Relu".split("").map((c) => c.charCodeAt(0)),
  ]);
  const inner = new ProtoWriter().int(1, 7);
  assertEquals([...new ProtoWriter().message(5, inner).finish()], [
    0x2a,
    2,
    0x08,
    7,
  ]);
  // Growing past the first buffer keeps every byte.
  const big = new ProtoWriter().bytes(9, new Uint8Array(1000).fill(3)).finish();
  assertEquals(big.length, 1 + 2 + 1000);
  assertEquals([big[0], big[1], big[2], big[1002]], [0x4a, 0xe8, 0x07, 3]);
  assertThrows(
    () => new ProtoWriter().int(1, 0.5),
    RangeError,
    "Expected a safe integer for a protobuf varint but found 0.5",
  );
});
