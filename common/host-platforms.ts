/**
 * The host platforms Containerx images are built for: where the container
 * runs, whatever guest it emulates. Each is a Debian architecture of the same
 * name, so the runtime, the frontend and their Debian bases exist for each.
 */
export const HOST_PLATFORMS = ["linux/amd64", "linux/arm64"] as const;
