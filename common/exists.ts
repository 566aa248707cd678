import { access } from "node:fs/promises";

/** Whether a path exists (any type, following symlinks), without throwing. */
export const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);
