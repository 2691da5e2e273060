// The PNG encoder of the filters example decodes back to its pixels, and the
// course's hand-made filters respond as they should.
import { assertEquals } from "@std/assert";
import { crc32, encodeGrayPng } from "../examples/_png.ts";
import { filterGrid } from "../examples/filters.ts";
import { type Tensor, tensor } from "../mod.ts";

Deno.test("PNG: signature, chunk CRCs and pixels decode back", async () => {
  const pixels = new Uint8Array([0, 64, 128, 255, 7, 9]);
  const png = await encodeGrayPng(pixels, 3, 2);
  assertEquals([...png.subarray(0, 8)], [
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
  ]);
  const view = new DataView(png.buffer);
  let at = 8;
  let idat = new Uint8Array(0);
  const types: string[] = [];
  while (at < png.length) {
    const len = view.getUint32(at);
    const type = new TextDecoder().decode(png.subarray(at + 4, at + 8));
    types.push(type);
    assertEquals(
      view.getUint32(at + 8 + len),
      crc32(png.subarray(at + 4, at + 8 + len)),
    );
    if (type === "IHDR") {
      assertEquals([view.getUint32(at + 8), view.getUint32(at + 12)], [3, 2]);
    }
    if (type === "IDAT") idat = png.slice(at + 8, at + 8 + len);
    at += 12 + len;
  }
  assertEquals(types, ["IHDR", "IDAT", "IEND"]);
  const raw = new Uint8Array(
    await new Response(
      new Blob([idat]).stream().pipeThrough(new DecompressionStream("deflate")),
    ).arrayBuffer(),
  );
  assertEquals([...raw], [0, 0, 64, 128, 0, 255, 7, 9]);
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

Deno.test("hand-made filters: a vertical bar excites the vertical edge filter, not the horizontal one", () => {
  const img = new Float32Array(784);
  for (let r = 4; r < 24; r++) img[r * 28 + 14] = 1;
  const rows = filterGrid(
    tensor(img, [1, 28, 28, 1]) as Tensor<[number, 28, 28, 1]>,
  );
  const energy = (t: Float32Array) => t.reduce((s, v) => s + Math.abs(v), 0);
  const [orig, vertical, horizontal, blur] = rows[0]!;
  assertEquals(orig![14 * 28 + 14], 1);
  // Away from the bar's ends, the horizontal Sobel sees nothing.
  let inner = 0;
  for (let r = 8; r < 20; r++) {
    for (let c = 0; c < 28; c++) inner += Math.abs(horizontal![r * 28 + c]!);
  }
  assertEquals(inner, 0);
  assertEquals(energy(vertical!) > 10 * energy(horizontal!) / 2, true);
  // Blur keeps the total mass (away from the border).
  assertEquals(Math.round(energy(blur!)), 20);
});
