// A small grayscale PNG encoder on Deno's own CompressionStream("deflate"),
// which produces exactly the zlib stream PNG's IDAT chunk wants. Chosen over
// an npm encoder because it is ~60 lines with no dependency and the image
// grids here are tiny.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 as used by PNG chunks. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(
      new CompressionStream("deflate"),
    );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Encodes 8-bit grayscale pixels (row-major, width * height bytes) as a PNG file. */
export async function encodeGrayPng(
  pixels: Uint8Array,
  width: number,
  height: number,
): Promise<Uint8Array> {
  if (pixels.length !== width * height) {
    throw new RangeError(
      `Expected ${
        width * height
      } pixels for ${width}x${height} but found ${pixels.length}`,
    );
  }
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = 0; // grayscale
  const raw = new Uint8Array((width + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width + 1)] = 0; // filter: none
    raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  }
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", await deflate(raw)),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Lays out grayscale tiles (each `h x w`, values any range) in a grid, each
 * tile scaled to 0..255 by its own min and max, with a 1-pixel gap at `scale`x zoom.
 */
export function tileGrid(
  tiles: Float32Array[][],
  h: number,
  w: number,
  scale = 4,
): { pixels: Uint8Array; width: number; height: number } {
  const rows = tiles.length, cols = Math.max(...tiles.map((r) => r.length));
  const gap = 2;
  const width = cols * (w * scale + gap) + gap,
    height = rows * (h * scale + gap) + gap;
  const pixels = new Uint8Array(width * height).fill(255);
  tiles.forEach((row, r) =>
    row.forEach((t, c) => {
      let lo = Infinity, hi = -Infinity;
      for (const v of t) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const span = hi - lo || 1;
      for (let y = 0; y < h * scale; y++) {
        for (let x = 0; x < w * scale; x++) {
          const v = t[Math.floor(y / scale) * w + Math.floor(x / scale)]!;
          const py = gap + r * (h * scale + gap) + y,
            px = gap + c * (w * scale + gap) + x;
          pixels[py * width + px] = Math.round(((v - lo) / span) * 255);
        }
      }
    })
  );
  return { pixels, width, height };
}
