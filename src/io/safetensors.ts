/**
 * Saving and loading parameter trees in the safetensors format: an 8-byte
 * little-endian header length, a JSON header (`dtype`, `shape`,
 * `data_offsets` per tensor, and `__metadata__`), then the little-endian
 * tensor bytes. Tensor names are the trees' dotted leaf paths; the tree's
 * structure is kept in the metadata so `load` can rebuild it.
 *
 * Extra string metadata can ride along ({@linkcode SaveOptions}) and be read
 * back with {@linkcode deserializeMetadata}; the keys `format` and
 * `tensa.treedef` are the library's own.
 *
 * Errors: a file that is not valid safetensors (too short, absurd header
 * length, header not a JSON object, bad entries, unknown dtype, offsets that
 * overlap, leave gaps or run past the data) and a dtype that differs from
 * `like`'s raise `TypeError`; missing, extra or mis-shaped parameters raise
 * `RangeError`. Messages name the file and the parameter. Loading validates
 * everything before returning anything.
 *
 * @module
 */

import { type AnyTensor, type DType, fromData } from "../tensor.ts";
import {
  type TreeDef,
  treeFlatten,
  treePaths,
  treeUnflatten,
} from "../pytree.ts";

const DTYPES: Record<DType, string> = { float32: "F32", int32: "I32" };
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A checked header entry: a tensor's dtype, shape and byte range in the data. */
interface Entry {
  readonly key: string;
  readonly dtype: "F32" | "I32";
  readonly shape: readonly number[];
  /** The first byte of the tensor, counted from the start of the data. */
  readonly begin: number;
  /** One past its last byte. */
  readonly end: number;
}

function leBytes(t: AnyTensor): Uint8Array {
  const data = t.toFlat();
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE) return bytes;
  // Each 4-byte word, its bytes reversed: read it one way round, write it the other.
  const out = new Uint8Array(bytes.length);
  const src = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dst = new DataView(out.buffer);
  for (let i = 0; i < bytes.length; i += 4) {
    dst.setUint32(i, src.getUint32(i, true), false);
  }
  return out;
}

/** Options of {@linkcode serialize} and {@linkcode save}. */
export interface SaveOptions {
  /**
   * Extra string entries for the file's `__metadata__` (e.g. a training
   * position). The keys `format` and `tensa.treedef` are reserved.
   */
  metadata?: Readonly<Record<string, string>>;
}

const RESERVED = ["format", "tensa.treedef"];

/** Throws unless every leaf of `def` is a tensor, naming the first that is not. */
function checkLeaves(def: TreeDef): void {
  const walk = (d: TreeDef, path: string): void => {
    if (d.kind === "static") {
      const v = d.value;
      const what = typeof v === "string"
        ? `the string ${JSON.stringify(v).slice(0, 40)}`
        : v === null || v === undefined
        ? String(v)
        : `the ${typeof v} ${String(v)}`;
      throw new TypeError(
        `Expected every leaf to be a tensor but found ${what} at ${
          path || "the root"
        }`,
      );
    }
    if (d.kind === "array") {
      d.children.forEach((c, i) => walk(c, `${path}[${i}]`));
    }
    if (d.kind === "object") {
      d.children.forEach((c, i) =>
        walk(c, path ? `${path}.${d.keys[i]}` : `${d.keys[i]}`)
      );
    }
  };
  walk(def, "");
}

/**
 * Encodes a tree of tensors as safetensors bytes.
 *
 * @param tree A pytree (nested plain objects and arrays) whose leaves are float32 or int32 tensors.
 * @param options Extra metadata.
 * @returns The file's bytes.
 * @throws {TypeError} If a leaf is not a tensor (the message gives its path), two leaves have the same dotted path (e.g. keys `"a.b"` and `a: { b }`), a leaf is named `__metadata__`, or the metadata uses a reserved key or a value that is not a string.
 *
 * @example
 * ```ts
 * import { deserialize, deserializeMetadata, serialize, tensor } from "@tensa/tensa";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const bytes = serialize({ w: tensor([1, 2]) }, { metadata: { epoch: "3" } });
 * const back = deserialize(bytes) as { w: ReturnType<typeof tensor> };
 * assertEquals(back.w.toArray(), [1, 2]);
 * assertEquals(deserializeMetadata(bytes).epoch, "3");
 * assertThrows(() => serialize({ w: [1, 2] }), TypeError, "found the number 1 at w[0]");
 * ```
 */
export function serialize(
  tree: unknown,
  options: SaveOptions = {},
): Uint8Array {
  const [leaves, def] = treeFlatten(tree);
  checkLeaves(def);
  const entries = named(leaves, tree);
  const names = entries.map(([n]) => n);
  const seen = new Set<string>();
  for (const n of names) {
    if (n === "__metadata__") {
      throw new TypeError(
        "Expected no leaf named __metadata__ but found one: the safetensors format reserves the name",
      );
    }
    if (seen.has(n)) {
      throw new TypeError(
        `Expected the dotted paths of the leaves to be unique but found ${n} twice`,
      );
    }
    seen.add(n);
  }
  const extra = options.metadata ?? {};
  for (const [k, v] of Object.entries(extra)) {
    if (RESERVED.includes(k)) {
      throw new TypeError(
        `Expected metadata keys other than ${
          RESERVED.join(" and ")
        } but found ${k}`,
      );
    }
    if (typeof v !== "string") {
      throw new TypeError(
        `Expected metadata values to be strings but found ${typeof v} for ${k}`,
      );
    }
  }
  const header: Record<string, unknown> = {
    __metadata__: {
      ...extra,
      format: "tensa",
      "tensa.treedef": JSON.stringify(def),
    },
  };
  let offset = 0;
  const bodies: Uint8Array[] = [];
  entries.forEach(([name, t]) => {
    const b = leBytes(t);
    header[name] = {
      dtype: DTYPES[t.dtype],
      shape: [...t.shape],
      data_offsets: [offset, offset + b.length],
    };
    offset += b.length;
    bodies.push(b);
  });
  let json = JSON.stringify(header);
  while ((8 + new TextEncoder().encode(json).length) % 8 !== 0) json += " ";
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let o = 8 + head.length;
  for (const b of bodies) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

/** The tensor name of a leaf path: the path, or `_` for a tree that is one tensor. */
function tensorName(path: string): string {
  return path === "" ? "_" : path;
}

/** Each leaf of `tree` with its tensor name (checked: one path per leaf). */
function named(
  leaves: readonly AnyTensor[],
  tree: unknown,
): [string, AnyTensor][] {
  const names = treePaths(tree).map(tensorName);
  return leaves.map((t, i) => {
    const name = names[i];
    if (name === undefined) {
      throw new RangeError(
        `Internal error: expected a path for each of ${leaves.length} leaves but found ${names.length}`,
      );
    }
    return [name, t];
  });
}

/** A parsed JSON object (or array), read key by key. */
function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null;
}

function isDef(d: unknown): d is TreeDef {
  if (!isRecord(d)) return false;
  switch (d.kind) {
    case "leaf":
    case "static":
      return true;
    case "array":
      return Array.isArray(d.children) && d.children.every(isDef);
    case "object":
      return Array.isArray(d.keys) && Array.isArray(d.children) &&
        d.keys.length === d.children.length &&
        d.keys.every((k) => typeof k === "string") && d.children.every(isDef);
    default:
      return false;
  }
}

/** A shape: an array of non-negative integers. */
function isDims(x: unknown): x is number[] {
  return Array.isArray(x) && x.every((d) => Number.isInteger(d) && d >= 0);
}

function list(names: readonly string[]): string {
  return names.length === 1
    ? `a parameter ${names[0]}`
    : `parameters ${names.join(", ")}`;
}

// deserialize runs four steps: parse (readHeader), validate (readEntries),
// decode (decodeTensors) and match (matchLike or matchStored).

interface Header {
  header: Record<string, unknown>;
  /** The header's length in bytes. */
  n: number;
  meta: Record<string, string> | undefined;
}

/** Parse: the JSON header of safetensors bytes, its length and its metadata. */
function readHeader(bytes: Uint8Array, name: string): Header {
  if (bytes.length < 8) {
    throw new TypeError(
      `Expected ${name} to be a safetensors file but it has only ${bytes.length} bytes`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n < 2 || 8 + n > bytes.length) {
    throw new TypeError(
      `Expected ${name} to be a safetensors file but its header length ${n} does not fit in ${bytes.length} bytes`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(
        bytes.subarray(8, 8 + n),
      ),
    );
  } catch {
    throw new TypeError(
      `Expected ${name} to be a safetensors file but its header is not JSON`,
    );
  }
  if (!isRecord(header) || Array.isArray(header)) {
    throw new TypeError(
      `Expected ${name} to be a safetensors file but its header is not a JSON object`,
    );
  }
  return { header, n, meta: readMeta(header.__metadata__, name) };
}

/** The header's `__metadata__`, checked to be an object of strings. */
function readMeta(
  meta: unknown,
  name: string,
): Record<string, string> | undefined {
  if (meta === undefined) return undefined;
  if (!isRecord(meta) || Array.isArray(meta)) {
    throw new TypeError(
      `Expected __metadata__ in ${name} to be an object of strings but found ${
        JSON.stringify(meta)
      }`,
    );
  }
  const entries: [string, string][] = [];
  for (const [k, v] of Object.entries(meta)) {
    if (typeof v !== "string") {
      throw new TypeError(
        `Expected __metadata__ in ${name} to be an object of strings but found ${k}: ${
          JSON.stringify(v)
        }`,
      );
    }
    entries.push([k, v]);
  }
  return Object.fromEntries(entries);
}

/**
 * Validate: the header's tensor entries, each well formed and inside the
 * `dataLen` bytes of data, and together tiling the data exactly.
 */
function readEntries(
  header: Record<string, unknown>,
  dataLen: number,
  name: string,
): Entry[] {
  const entries: Entry[] = [];
  for (const [key, value] of Object.entries(header)) {
    if (key !== "__metadata__") {
      entries.push(readEntry(key, value, dataLen, name));
    }
  }
  checkTiling(entries, dataLen, name);
  return entries;
}

/** One entry: dtype F32 or I32, a shape, and offsets spanning its bytes. */
function readEntry(
  key: string,
  value: unknown,
  dataLen: number,
  name: string,
): Entry {
  if (
    !isRecord(value) || !isDims(value.shape) ||
    !Array.isArray(value.data_offsets) || value.data_offsets.length !== 2
  ) {
    throw new TypeError(
      `Expected an entry with dtype, shape and data_offsets for ${key} in ${name} but found ${
        JSON.stringify(value)?.slice(0, 80)
      }`,
    );
  }
  const { dtype, shape } = value;
  if (dtype !== "F32" && dtype !== "I32") {
    throw new TypeError(
      `Expected dtype F32 or I32 for ${key} in ${name} but found ${dtype}`,
    );
  }
  const [begin, end]: unknown[] = value.data_offsets;
  const size = shape.reduce((a, d) => a * d, 1) * 4;
  if (
    !(typeof begin === "number" && typeof end === "number" &&
      Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 &&
      end - begin === size)
  ) {
    throw new TypeError(
      `Expected the offsets of ${key} in ${name} to span ${size} bytes for shape [${
        shape.join(", ")
      }] but found [${begin}, ${end}]`,
    );
  }
  if (end > dataLen) {
    throw new TypeError(
      `${name} is truncated: ${key} ends at byte ${end} of the data but the data has ${dataLen} bytes`,
    );
  }
  return { key, dtype, shape, begin, end };
}

/** Throws unless the entries tile the data exactly, without gaps or overlaps. */
function checkTiling(
  entries: readonly Entry[],
  dataLen: number,
  name: string,
): void {
  const sorted = [...entries].sort((x, y) => x.begin - y.begin);
  let at = 0, previous = "";
  for (const { key, begin, end } of sorted) {
    if (begin !== at) {
      const why = begin < at
        ? `, overlapping ${previous}`
        : `, leaving a gap of ${begin - at} bytes`;
      throw new TypeError(
        `Expected ${key} in ${name} to start at byte ${at} of the data but its offsets say ${begin}${why}`,
      );
    }
    at = end;
    previous = key;
  }
  if (at !== dataLen) {
    throw new TypeError(
      `Expected the tensors of ${name} to cover its ${dataLen} data bytes but they cover ${at}`,
    );
  }
}

/**
 * Decode: the tensors of checked entries, by name, read little-endian from
 * `data` (the bytes after the header, possibly a view into a larger buffer).
 */
function decodeTensors(
  data: Uint8Array,
  entries: readonly Entry[],
): Map<string, AnyTensor> {
  return new Map(entries.map((e) => [e.key, decodeTensor(data, e)]));
}

function decodeTensor(data: Uint8Array, e: Entry): AnyTensor {
  const dv = new DataView(
    data.buffer,
    data.byteOffset + e.begin,
    e.end - e.begin,
  );
  const count = (e.end - e.begin) / 4;
  if (e.dtype === "F32") {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true);
    return fromData(e.shape, "float32", out);
  }
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = dv.getInt32(4 * i, true);
  return fromData(e.shape, "int32", out);
}

/** Match: the tensors arranged as `like`, every name, shape and dtype checked. */
function matchLike(
  tensors: ReadonlyMap<string, AnyTensor>,
  like: unknown,
  name: string,
): unknown {
  const [leaves, def] = treeFlatten(like);
  const names = named(leaves, like);
  const want = new Map(names);
  const missing: string[] = [], pairs: [string, AnyTensor, AnyTensor][] = [];
  for (const [key, w] of want) {
    const t = tensors.get(key);
    if (t === undefined) missing.push(key);
    else pairs.push([key, w, t]);
  }
  if (missing.length > 0) {
    throw new RangeError(
      `Expected ${list(missing)} in ${name} but found none`,
    );
  }
  const extra = [...tensors.keys()].filter((k) => !want.has(k));
  if (extra.length > 0) {
    throw new RangeError(
      `Found ${list(extra)} in ${name} that the model does not have`,
    );
  }
  for (const [key, w, t] of pairs) {
    if (
      t.shape.length !== w.shape.length ||
      t.shape.some((d, i) => d !== w.shape[i])
    ) {
      throw new RangeError(
        `Expected ${key} to have shape [${w.shape.join(", ")}] but found [${
          t.shape.join(", ")
        }] in ${name}`,
      );
    }
    if (t.dtype !== w.dtype) {
      throw new TypeError(
        `Expected ${key} to have dtype ${w.dtype} but found ${t.dtype} in ${name}`,
      );
    }
  }
  return treeUnflatten(def, names.map(([key]) => tensors.get(key)));
}

/**
 * Match without `like`: the tree structure stored in the metadata, checked
 * against the tensors' names, or else a flat object of the tensors.
 */
function matchStored(
  tensors: ReadonlyMap<string, AnyTensor>,
  meta: Record<string, string> | undefined,
  name: string,
): unknown {
  const stored = meta?.["tensa.treedef"];
  if (typeof stored !== "string") return Object.fromEntries(tensors);
  let def: unknown;
  try {
    def = JSON.parse(stored);
  } catch {
    throw new TypeError(
      `Expected the tree structure in the metadata of ${name} to be JSON`,
    );
  }
  if (!isDef(def)) {
    throw new TypeError(
      `Expected the tree structure in the metadata of ${name} to describe a tree but found ${
        stored.slice(0, 80)
      }`,
    );
  }
  const names: string[] = [];
  const walk = (d: TreeDef, path: string[]): void => {
    if (d.kind === "leaf") names.push(path.join("."));
    else if (d.kind === "array") {
      d.children.forEach((c, i) => walk(c, [...path, `${i}`]));
    } else if (d.kind === "object") {
      d.children.forEach((c, i) => walk(c, [...path, `${d.keys[i]}`]));
    }
  };
  walk(def, []);
  const keys = names.map(tensorName);
  if (keys.length !== tensors.size || keys.some((k) => !tensors.has(k))) {
    throw new TypeError(
      `Expected the tensors of ${name} to match the tree structure in its metadata but found ${tensors.size} tensors for ${keys.length} leaves`,
    );
  }
  return treeUnflatten(def, keys.map((k) => tensors.get(k)));
}

/**
 * The string metadata of safetensors bytes (the header's `__metadata__`),
 * without decoding the tensors.
 *
 * @param bytes The file's bytes.
 * @param name The file name for messages (default `"the data"`).
 * @returns The metadata entries; empty when the file has none.
 * @throws {TypeError} If the bytes do not start with a valid safetensors header.
 *
 * @example
 * ```ts
 * import { deserializeMetadata, serialize, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const bytes = serialize({ w: tensor([1]) }, { metadata: { note: "hi" } });
 * assertEquals(deserializeMetadata(bytes).note, "hi");
 * assertEquals(deserializeMetadata(bytes).format, "tensa");
 * ```
 */
export function deserializeMetadata(
  bytes: Uint8Array,
  name = "the data",
): Record<string, string> {
  return { ...readHeader(bytes, name).meta };
}

/**
 * Decodes safetensors bytes into a tree: the structure of `like` when given
 * (every name, shape and dtype must match), else the structure stored in the
 * metadata (or a flat object of the names).
 *
 * @param bytes The file's bytes.
 * @typeParam T The type of `like`, which is the result's type.
 * @param like A tree to match, or omitted; only its structure, shapes and dtypes are used.
 * @param name The file name for messages (default `"the data"`).
 * @returns The tree.
 * @throws {TypeError} If the bytes are not a valid safetensors file, or a dtype differs from `like`'s.
 * @throws {RangeError} If a parameter is missing, extra, or of another shape than in `like`.
 *
 * @example
 * ```ts
 * import { deserialize, serialize, tensor } from "@tensa/tensa";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const bytes = serialize({ w: tensor([1, 2]) });
 * const back = deserialize(bytes, { w: tensor([0, 0]) }); // typed like `like`
 * assertEquals(back.w.toArray(), [1, 2]);
 * assertThrows(() => deserialize(bytes, { w: tensor([1, 2, 3]) }), RangeError);
 * assertThrows(() => deserialize(bytes.slice(0, 20)), TypeError);
 * ```
 */
export function deserialize(
  bytes: Uint8Array,
  like?: undefined,
  name?: string,
): unknown;
/**
 * Decodes safetensors bytes into a tree of exactly `like`'s structure and
 * type, checking every name, shape and dtype.
 *
 * @param bytes The file's bytes.
 * @param like A tree of the expected structure, shapes and dtypes.
 * @param name The file name for messages.
 * @returns The tree, typed like `like`.
 * @throws {TypeError} If the bytes are not a valid safetensors file or a dtype differs.
 * @throws {RangeError} If a parameter is missing, extra or of another shape.
 *
 * @example
 * ```ts
 * import { deserialize, serialize, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const like = { b: tensor([0]) };
 * assertEquals(deserialize(serialize({ b: tensor([5]) }), like).b.toArray(), [5]);
 * ```
 */
export function deserialize<T>(bytes: Uint8Array, like: T, name?: string): T;
export function deserialize(
  bytes: Uint8Array,
  like?: unknown,
  name = "the data",
): unknown {
  const { header, n, meta } = readHeader(bytes, name);
  const entries = readEntries(header, bytes.length - 8 - n, name);
  const tensors = decodeTensors(bytes.subarray(8 + n), entries);
  return like === undefined
    ? matchStored(tensors, meta, name)
    : matchLike(tensors, like, name);
}

/**
 * Saves a tree of tensors to `path` as safetensors, atomically: the bytes go
 * to a temporary file in the same folder (`<path>.tmp-<random>`), which is
 * then renamed onto `path`, so a crash never leaves a damaged file under the
 * final name. When writing or renaming fails, the temporary file is removed
 * and the error names `path`, never the temporary file. (A process killed
 * while writing cannot clean up; a program that wants to survive Ctrl-C
 * handles the signal and lets the save finish, as `examples/mnist.ts` does.)
 *
 * @param path The file to write.
 * @param tree The parameters: a pytree whose leaves are all tensors.
 * @param options Extra metadata.
 * @returns When the file is in place.
 * @throws {TypeError} If a leaf is not a tensor (see {@linkcode serialize}); nothing is written then.
 * @throws {Deno.errors.NotFound} If the folder does not exist (the message names `path`); other file-system errors keep their class.
 *
 * @example
 * ```ts
 * import { load, save, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const dir = await Deno.makeTempDir();
 * await save(`${dir}/p.safetensors`, { w: [tensor([1, 2])] });
 * const back = await load(`${dir}/p.safetensors`, { w: [tensor([0, 0])] });
 * assertEquals(back.w[0]!.toArray(), [1, 2]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function save(
  path: string,
  tree: unknown,
  options: SaveOptions = {},
): Promise<void> {
  const bytes = serialize(tree, options);
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  let created = false;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    created = true;
    try {
      for (let o = 0; o < bytes.length;) {
        o += await file.write(bytes.subarray(o));
      }
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    if (created) await Deno.remove(tmp).catch(() => {});
    if (e instanceof Error) {
      // Deno's messages end with the operation and the (temporary) path.
      const reason = e.message.replace(/: \w+ '.*$/s, "");
      e.message = `Cannot save ${path}: ${reason}`;
    }
    throw e;
  }
}

/**
 * Loads a safetensors file without a tree to match: the structure stored by
 * {@linkcode save} is rebuilt (or, for files written by other tools, a flat
 * object of the tensors by name). The result is `unknown`; pass `like` to
 * get a typed, checked tree.
 *
 * @param path The file to read.
 * @param like Omitted.
 * @returns The parameters.
 * @throws {TypeError} If the file is not a valid safetensors file (the message names the file).
 *
 * @example
 * ```ts
 * import { load, save, tensor } from "@tensa/tensa";
 * import { assert } from "@std/assert";
 *
 * const dir = await Deno.makeTempDir();
 * await save(`${dir}/p.safetensors`, { w: tensor([1, 2]) });
 * const back = await load(`${dir}/p.safetensors`); // unknown
 * assert(typeof back === "object" && back !== null && "w" in back);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function load(path: string, like?: undefined): Promise<unknown>;
/**
 * Loads a safetensors file into a tree of `like`'s type and structure,
 * checking every parameter's name, shape and dtype.
 *
 * @param path The file to read.
 * @param like A tree of the expected structure, shapes and dtypes.
 * @returns The parameters, typed like `like`.
 * @throws {TypeError} If the file is not a valid safetensors file, or a dtype differs from `like`'s (the message names the file).
 * @throws {RangeError} If a parameter is missing, extra or of another shape.
 *
 * @example
 * ```ts
 * import { load, save, tensor } from "@tensa/tensa";
 * import { assertRejects } from "@std/assert";
 *
 * const dir = await Deno.makeTempDir();
 * await save(`${dir}/p.safetensors`, { w: tensor([1, 2]) });
 * await assertRejects(() => load(`${dir}/p.safetensors`, { v: tensor([1, 2]) }), RangeError);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function load<T>(path: string, like: T): Promise<T>;
export async function load(path: string, like?: unknown): Promise<unknown> {
  return deserialize(await Deno.readFile(path), like, path);
}
