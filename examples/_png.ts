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

async function deflate(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const stream = new Blob([data]).stream()
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

// A 5x7 bitmap font of capital letters, digits and a few signs, drawn by
// hand: each glyph is 7 rows of 5 pixels, "#" for ink.
const GLYPHS: Record<string, string> = {
  A: ".###. #...# #...# ##### #...# #...# #...#",
  B: "####. #...# #...# ####. #...# #...# ####.",
  C: ".###. #...# #.... #.... #.... #...# .###.",
  D: "####. #...# #...# #...# #...# #...# ####.",
  E: "##### #.... #.... ####. #.... #.... #####",
  F: "##### #.... #.... ####. #.... #.... #....",
  G: ".###. #...# #.... #.### #...# #...# .####",
  H: "#...# #...# #...# ##### #...# #...# #...#",
  I: ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
  J: "..### ...#. ...#. ...#. ...#. #..#. .##..",
  K: "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
  L: "#.... #.... #.... #.... #.... #.... #####",
  M: "#...# ##.## #.#.# #.#.# #...# #...# #...#",
  N: "#...# ##..# #.#.# #..## #...# #...# #...#",
  O: ".###. #...# #...# #...# #...# #...# .###.",
  P: "####. #...# #...# ####. #.... #.... #....",
  Q: ".###. #...# #...# #...# #.#.# #..#. .##.#",
  R: "####. #...# #...# ####. #.#.. #..#. #...#",
  S: ".#### #.... #.... .###. ....# ....# ####.",
  T: "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
  U: "#...# #...# #...# #...# #...# #...# .###.",
  V: "#...# #...# #...# #...# #...# .#.#. ..#..",
  W: "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
  X: "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
  Y: "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
  Z: "##### ....# ...#. ..#.. .#... #.... #####",
  "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
  "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
  "2": ".###. #...# ....# ...#. ..#.. .#... #####",
  "3": "####. ....# ....# .###. ....# ....# ####.",
  "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
  "5": "##### #.... ####. ....# ....# #...# .###.",
  "6": ".###. #.... #.... ####. #...# #...# .###.",
  "7": "##### ....# ...#. ..#.. .#... .#... .#...",
  "8": ".###. #...# #...# .###. #...# #...# .###.",
  "9": ".###. #...# #...# .#### ....# ....# .###.",
  " ": "..... ..... ..... ..... ..... ..... .....",
  "-": "..... ..... ..... ##### ..... ..... .....",
  ".": "..... ..... ..... ..... ..... .##.. .##..",
};

/** The 5x7 glyph of a character (case-insensitive), as 7 rows of 5 booleans. */
export function glyph(ch: string): boolean[][] {
  const g = GLYPHS[ch.toUpperCase()];
  if (g === undefined) {
    throw new RangeError(
      `Expected letters, digits, space, "-" or "." but found ${
        JSON.stringify(ch)
      }`,
    );
  }
  return g.split(" ").map((row) => [...row].map((c) => c === "#"));
}

/** The width in pixels of `text` drawn at `scale` (5 per glyph, 1 between). */
export function textWidth(text: string, scale: number): number {
  return text.length === 0 ? 0 : (6 * text.length - 1) * scale;
}

/** Draws `text` in black into 8-bit gray `pixels` (row length `width`) with its top-left corner at (x, y). */
export function drawText(
  pixels: Uint8Array,
  width: number,
  text: string,
  x: number,
  y: number,
  scale: number,
): void {
  [...text].forEach((ch, k) => {
    glyph(ch).forEach((row, gy) =>
      row.forEach((ink, gx) => {
        if (!ink) return;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const px = x + (6 * k + gx) * scale + dx;
            const py = y + gy * scale + dy;
            // Clip at the right edge instead of wrapping into the next row.
            if (px < width && py * width + px < pixels.length) {
              pixels[py * width + px] = 0;
            }
          }
        }
      })
    );
  });
}

/**
 * Puts a band of column labels above a grid from {@linkcode tileGrid}: each
 * label centred over its column (`columnWidth` pixels wide, after a `gap`),
 * split into lines at spaces, at text scale 2 when every line fits its
 * column and 1 otherwise.
 */
export function labelColumns(
  grid: { pixels: Uint8Array; width: number; height: number },
  labels: readonly string[],
  columnWidth: number,
  gap = 2,
): { pixels: Uint8Array; width: number; height: number } {
  const lines = labels.map((l) => l.split(" "));
  const fits = (s: number) =>
    lines.every((ls) => ls.every((l) => textWidth(l, s) <= columnWidth - 2));
  const scale = fits(2) ? 2 : 1;
  const rows = Math.max(1, ...lines.map((ls) => ls.length));
  const band = rows * 9 * scale + 2 * gap;
  const { width } = grid;
  const height = grid.height + band;
  const pixels = new Uint8Array(width * height).fill(255);
  pixels.set(grid.pixels, band * width);
  lines.forEach((ls, c) => {
    const x0 = gap + c * (columnWidth + gap);
    ls.forEach((l, r) => {
      const x = x0 +
        Math.max(0, Math.floor((columnWidth - textWidth(l, scale)) / 2));
      drawText(pixels, width, l, x, gap + r * 9 * scale, scale);
    });
  });
  return { pixels, width, height };
}
