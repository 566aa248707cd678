/**
 * e2fsprogs' clock for the build steps that write a guest disk: the
 * library's for inode and superblock write times, e2fsck's own for its check
 * time. With SOURCE_DATE_EPOCH both are the epoch, so the disk's bytes do not
 * depend on when the step ran; without it, the tools' own clock. Both take 0
 * for "not set", so an epoch of 0 becomes one second later.
 */
export function e2fsprogsClock(sourceDateEpoch: number | undefined): Record<string, string> {
  if (sourceDateEpoch === undefined) return {};
  const time = String(Math.max(sourceDateEpoch, 1));
  return { E2FSPROGS_FAKE_TIME: time, E2FSCK_TIME: time };
}
