/**
 * The IDX file format of MNIST and Fashion-MNIST (raw or gzipped): a magic
 * number, big-endian dimensions, then unsigned bytes.
 *
 * @module
 */

/** A decoded IDX file: its dimensions and its bytes. */
export interface IdxData {
  /** The dimensions, outermost first (e.g. `[60000, 28, 28]`). */
  dims: number[];
  /** The values, row-major. */
  data: Uint8Array;
}

function hex(bytes: Uint8Array, n: number): string {
  return [...bytes.subarray(0, n)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/**
 * Parses the bytes of an (uncompressed) IDX file of unsigned bytes.
 *
 * @param bytes The file's bytes.
 * @param name The file name, used in error messages.
 * @returns The dimensions and data.
 * @throws {TypeError} If the magic number is wrong or the element type is not unsigned bytes.
 * @throws {RangeError} If the file is truncated or has trailing bytes.
 *
 * @example
 * ```ts
 * import { parseIdx } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * // Two labels, 7 and 3.
 * const bytes = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 3]);
 * assertEquals(parseIdx(bytes, "labels"), { dims: [2], data: new Uint8Array([7, 3]) });
 * ```
 */
export function parseIdx(bytes: Uint8Array, name: string): IdxData {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new TypeError(
      `Expected ${name} to start with the IDX magic number 0x0000 but found ${
        bytes.length === 0 ? "an empty file" : `0x${hex(bytes, 4)}`
      }`,
    );
  }
  if (bytes[2] !== 0x08) {
    throw new TypeError(
      `Expected ${name} to hold unsigned bytes (IDX type 0x08) but found type 0x${
        hex(bytes.subarray(2), 1)
      }`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rank = view.getUint8(3);
  const header = 4 + 4 * rank;
  if (bytes.length < header) {
    throw new RangeError(
      `${name} is truncated: its header needs ${header} bytes but the file has ${bytes.length}`,
    );
  }
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  const body = bytes.length - header;
  if (body < size) {
    throw new RangeError(
      `${name} is truncated: the header promises ${size} bytes of data but only ${body} follow`,
    );
  }
  if (body > size) {
    throw new RangeError(
      `${name} has ${
        body - size
      } bytes after the ${size} bytes of data its header promises`,
    );
  }
  return { dims, data: bytes.slice(header) };
}

/** Whether `bytes` views an `ArrayBuffer` (not a `SharedArrayBuffer`). */
function ownsArrayBuffer(bytes: Uint8Array): bytes is Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer;
}

/**
 * Decodes an IDX file that may be gzipped (detected by its first two bytes).
 *
 * @param bytes The file's bytes, raw or gzipped.
 * @param name The file name, used in error messages.
 * @returns The dimensions and data.
 * @throws {TypeError} If the gzip stream is corrupt or the IDX header is wrong.
 *
 * @example
 * ```ts
 * import { decodeIdx } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const raw = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 1, 9]);
 * const gz = new Uint8Array(
 *   await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
 * );
 * assertEquals((await decodeIdx(gz, "x.gz")).data, new Uint8Array([9]));
 * ```
 */
export async function decodeIdx(
  bytes: Uint8Array,
  name: string,
): Promise<IdxData> {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    let raw: Uint8Array;
    try {
      // Blob takes no views of shared memory; those are copied first.
      const part = ownsArrayBuffer(bytes) ? bytes : new Uint8Array(bytes);
      const stream = new Blob([part]).stream()
        .pipeThrough(
          new DecompressionStream("gzip"),
        );
      raw = new Uint8Array(await new Response(stream).arrayBuffer());
    } catch (e) {
      throw new TypeError(
        `${name} looks gzipped but does not decompress: ${
          e instanceof Error ? e.message : String(e)
        }`,
      );
    }
    return parseIdx(raw, name);
  }
  return parseIdx(bytes, name);
}

/**
 * Reads and decodes an IDX file (raw or gzipped).
 *
 * @param path The file path.
 * @returns The dimensions and data.
 * @throws {Deno.errors.NotFound} If the file does not exist.
 *
 * @example
 * ```ts
 * import { readIdx } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(`${dir}/l`, new Uint8Array([0, 0, 8, 1, 0, 0, 0, 1, 4]));
 * assertEquals((await readIdx(`${dir}/l`)).dims, [1]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readIdx(path: string): Promise<IdxData> {
  return decodeIdx(await Deno.readFile(path), path);
}
