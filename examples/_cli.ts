// Command-line helpers shared by the examples.

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

/** The `unknown` hook of parseArgs: any option not declared is an error. */
export function refuseUnknown(arg: string): boolean {
  if (arg.startsWith("-")) {
    throw new RangeError(`Unknown option ${arg}; see --help`);
  }
  return true;
}
