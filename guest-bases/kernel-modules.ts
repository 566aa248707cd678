/**
 * Load order for a set of kernel modules, from a `modules.dep` file: every
 * module comes after the modules it depends on, each module once. Wanted
 * modules that `modules.builtin` lists are in the kernel already and skipped.
 */
export function moduleLoadOrder(modulesDep: string, wanted: readonly string[], modulesBuiltin = ""): string[] {
  const deps = new Map<string, string[]>();
  for (const line of modulesDep.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const path = line.slice(0, colon);
    deps.set(path, line.slice(colon + 1).trim().split(/\s+/).filter(Boolean));
  }
  const byName = new Map<string, string>();
  for (const path of deps.keys()) byName.set(moduleName(path), path);

  const order: string[] = [];
  const visit = (path: string) => {
    if (order.includes(path)) return;
    for (const dep of deps.get(path) ?? []) visit(dep);
    order.push(path);
  };
  const builtin = new Set(modulesBuiltin.split("\n").filter(Boolean).map(moduleName));
  for (const name of wanted) {
    if (builtin.has(name.replace(/-/g, "_"))) continue;
    const path = byName.get(name.replace(/-/g, "_"));
    if (!path) throw new Error(`kernel module ${name} not found in modules.dep`);
    visit(path);
  }
  return order;
}

/** Whether the kernel has module `name`, loadable (modules.dep) or built in. */
export function kernelHasModule(modulesDep: string, modulesBuiltin: string, name: string): boolean {
  const wanted = name.replace(/-/g, "_");
  return [modulesDep, modulesBuiltin].some((list) => list.split("\n").some((line) => {
    const path = line.split(":")[0]!;
    return path.endsWith(".ko") || /\.ko\.[a-z]+$/.test(path) ? moduleName(path) === wanted : false;
  }));
}

function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return base.replace(/\.ko(\.[a-z]+)?$/, "").replace(/-/g, "_");
}
