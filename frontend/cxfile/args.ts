/**
 * `${NAME}` and `${NAME:-default}` in Cxfile values, from `args:` and
 * `--build-arg`. Only the braced form is a reference, so `$HOME` in a shell
 * command reaches the guest's shell untouched; `$${` is a literal `${`.
 * Pure: the caller says where a failure points.
 */
export class SubstitutionError extends Error {}

const REFERENCE = /\$\$\{|\$\{([^}]*)\}?/g;

export function substitute(text: string, args: ReadonlyMap<string, string>): string {
  return text.replace(REFERENCE, (match: string, braced: string) => {
    if (match === "$${") return "${";
    if (!match.endsWith("}")) throw new SubstitutionError(`'${match}' has no closing '}'`);
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(braced);
    if (!m) throw new SubstitutionError(`'\${${braced}}' is not a valid reference: use \${NAME} or \${NAME:-default}`);
    const [, name, fallback] = m;
    const value = args.get(name);
    if (value === undefined) {
      throw new SubstitutionError(`'${name}' is not declared under args${args.size ? ` (declared: ${[...args.keys()].join(", ")})` : ""}`);
    }
    return value === "" && fallback !== undefined ? fallback : value;
  });
}
