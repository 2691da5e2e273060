// Command-line helpers shared by the examples: flag parsing discipline and
// the check, before any work, that an output path can be written.
import { dirname } from "@std/path";

/**
 * Joins `--flag -1` into `--flag=-1` for the flags that take a value, so that
 * a negative number is read as the value (and then judged by the flag's own
 * check) instead of as an unknown option `-1`.
 */
export function joinNegativeValues(
  argv: readonly string[],
  valueFlags: readonly string[],
): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!, next = argv[i + 1];
    if (
      a.startsWith("--") && valueFlags.includes(a.slice(2)) &&
      next !== undefined && /^-(\d|\.\d|Infinity|NaN)/.test(next)
    ) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/**
 * Refuses stray arguments, repeated value flags and value flags without a
 * value.
 *
 * @throws {RangeError} Naming the argument or the flag.
 */
export function checkArgs(
  argv: readonly string[],
  args: { _: readonly unknown[] } & Record<string, unknown>,
  valueFlags: readonly string[],
): void {
  if (args._.length > 0) {
    throw new RangeError(
      `Expected only options but found the argument ${args._[0]}; see --help`,
    );
  }
  for (const f of valueFlags) {
    const times = argv.filter((a) =>
      a === `--${f}` || a.startsWith(`--${f}=`)
    ).length;
    if (times > 1) {
      throw new RangeError(`Expected --${f} once but found it ${times} times`);
    }
    if (args[f] === "") throw new RangeError(`Expected a value after --${f}`);
  }
}

/**
 * The value of `--name` as a positive number (an integer if asked).
 *
 * @throws {RangeError} Naming the flag and the value.
 */
export function positive(name: string, v: unknown, integer: boolean): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new RangeError(
      `Expected --${name} to be a positive ${
        integer ? "integer" : "number"
      } but found ${v}`,
    );
  }
  return n;
}

/**
 * The value of `--seed`: a non-negative safe integer.
 *
 * @throws {RangeError} Naming the value.
 */
export function seedOf(v: unknown): number {
  const seed = Number(v);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(
      `Expected --seed to be a non-negative integer but found ${v}`,
    );
  }
  return seed;
}

/**
 * The value of `--dropout`: a rate in [0, 1).
 *
 * @throws {RangeError} Naming the value.
 */
export function dropoutOf(v: unknown): number {
  const rate = Number(v);
  if (!(rate >= 0 && rate < 1)) {
    throw new RangeError(`Expected --dropout to be in [0, 1) but found ${v}`);
  }
  return rate;
}

/** The `unknown` hook of parseArgs: any option not declared is an error. */
export function refuseUnknown(arg: string): boolean {
  if (arg.startsWith("-")) {
    throw new RangeError(`Unknown option ${arg}; see --help`);
  }
  return true;
}

/**
 * Checks, before any work, that `path` can be written the way `save` writes
 * it: its folder exists, is a folder and takes a new file (probed by creating
 * and removing one), and `path` itself is not a folder. Usable for any output
 * flag (`--save`, `--checkpoint`, `--plot`, `--onnx`, ...).
 *
 * @throws {Error} A message naming the flag and the path.
 */
export async function checkWritablePath(
  path: string,
  flag: string,
): Promise<void> {
  const fail = (why: string): never => {
    throw new Error(`Cannot write ${flag} ${path}: ${why}`);
  };
  if (path === "") fail("the path is empty");
  const dir = dirname(path);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return fail(`the folder ${dir} does not exist`);
    }
    return fail(reason(e));
  }
  if (!info.isDirectory) fail(`${dir} is not a folder`);
  try {
    if ((await Deno.stat(path)).isDirectory) fail("it is a folder");
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      if (e instanceof Error && e.message.startsWith("Cannot write")) throw e;
      fail(reason(e));
    }
  }
  const probe = `${dir}/.tensa-probe-${crypto.randomUUID()}`;
  try {
    (await Deno.open(probe, { write: true, createNew: true })).close();
  } catch (e) {
    return fail(`the folder ${dir} is not writable (${reason(e)})`);
  }
  await Deno.remove(probe);
}

/** The cause in a Deno error message, without the operation and path Deno appends. */
export function reason(e: unknown): string {
  // Deno's messages end with the operation and a path: keep the cause.
  return (e instanceof Error ? e.message : String(e)).replace(
    /: \w+ '.*$/s,
    "",
  );
}
