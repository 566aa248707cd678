import protobuf from "protobufjs";
import { fileURLToPath } from "node:url";

/** The project's .proto files (proto/ at the top of the tree), loaded once. */
const PROTO_DIR = fileURLToPath(new URL("../../proto/", import.meta.url));

function load(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => PROTO_DIR + target;
  return root.loadSync(["buildkit/ops.proto", "buildkit/gateway.proto", "buildkit/errdefs.proto", "google/rpc/status.proto"], { keepCase: true });
}

export const protos = load();

export const pb = {
  Op: protos.lookupType("pb.Op"),
  Definition: protos.lookupType("pb.Definition"),
  ErrorSource: protos.lookupType("errdefs.Source"),
  ErrorSubrequest: protos.lookupType("errdefs.Subrequest"),
};

/** LLB's enums by name, their numbers from ops.proto. */
export const llbEnums = {
  NetMode: protos.lookupEnum("pb.NetMode").values,
  MountType: protos.lookupEnum("pb.MountType").values,
};

export const gw = (name: string) => protos.lookupType(`moby.buildkit.v1.frontend.${name}`);
