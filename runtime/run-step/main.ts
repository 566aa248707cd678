/**
 * cx-run-step (request in $CX_STEP_REQUEST): a Cxfile `run:` entry at build time.
 * Boots the guest under QEMU on a new qcow2 layer over the disk chain so far,
 * runs the command through the guest agent, streams its output into the
 * build's progress, and keeps what the command wrote as the new layer.
 * The VM comes from the same kit (runtime/vm/kit.ts) as `docker run`.
 */
import { mkdir, readdir } from "node:fs/promises";
import { RUNTIME_FAILURE } from "../../common/exit-codes.js";
import { LAYOUT } from "../../common/layout.js";
import { proxyEnv, proxyEnvLines } from "../../common/proxy.js";
import { runStepMain, type RunStepRequest } from "../../common/step-requests.js";
import { createOverlayDisk } from "../vm/overlay-disk.js";
import { openVmKit } from "../vm/kit.js";
import { failureReason, runGuest } from "../vm/session.js";
import { BUILD_DISK_HINT } from "../vm/disk-full.js";
import { slotTag, type HostShare } from "../vm/config.js";

const STATE_DIR = "/tmp/cx-run-step";

/**
 * The step's secrets, shared into the guest by 9p: their contents stay in
 * BuildKit's secret mounts and the guest's memory, never on the guest disk
 * (which keeps only the empty mount point). None when the step reads none,
 * or every one it reads is optional and missing.
 */
async function secretShares(dir: string | undefined): Promise<HostShare[]> {
  if (dir === undefined || (await readdir(dir).catch(() => [])).length === 0) return [];
  return [{ fstype: "9p", tag: slotTag(0), hostPath: dir, guestPath: LAYOUT.guestSecretsDir }];
}

async function runStep(req: RunStepRequest): Promise<number> {
  const kit = await openVmKit();
  await mkdir(STATE_DIR, { recursive: true });
  await createOverlayDisk(req.out, req.backing, kit.settings.diskMiB);

  // BuildKit gives build steps no /dev/kvm, so TCG it is.
  process.stderr.write(`containerx: booting the ${kit.base.arch} guest (TCG) to run: ${req.argv.join(" ")}\n`);
  const started = Date.now();
  const shares = await secretShares(req.secretsDir);
  if (req.secretsDir) {
    process.stderr.write(shares.length ? `containerx: the step's secrets are at ${LAYOUT.guestSecretsDir} in the guest\n`
      : "containerx: none of the step's secrets was given (all optional)\n");
  }
  const outcome = await runGuest(kit.vm({ disk: req.out, stateDir: STATE_DIR, accel: "tcg", shares }),
    {
      // BuildKit sets the proxy build args in this step's environment (LLB proxy_env); the guest's command gets them.
      argv: req.argv, env: [...req.env, ...proxyEnvLines(proxyEnv(process.env))], cwd: "/", hostname: "containerx-build", clockNs: BigInt(Date.now()) * 1_000_000n,
      mounts: shares.map(({ fstype, tag, guestPath }) => ({ fstype, tag, guestPath })),
    },
    { stdout: process.stdout, stderr: process.stderr });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  switch (outcome.kind) {
    case "exited":
      if (outcome.code === 0) {
        process.stderr.write(`containerx: run step finished in ${seconds}s\n`);
        return 0;
      }
      process.stderr.write(`containerx: the command exited with code ${outcome.code} in the guest (after ${seconds}s)\n`);
      return outcome.code;
    case "stopped":
      process.stderr.write(`containerx: the run step was stopped by ${outcome.signal}\n`);
      return RUNTIME_FAILURE;
    default:
      process.stderr.write(`containerx: ${failureReason(outcome)}\n`);
      if (outcome.kind === "disk-full") process.stderr.write(`containerx: ${BUILD_DISK_HINT}\n`);
      return RUNTIME_FAILURE;
  }
}

runStepMain<RunStepRequest>("cx-run-step", runStep);
