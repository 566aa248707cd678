import { test } from "node:test";
import assert from "node:assert/strict";
import { proxyEnv, proxyEnvLines } from "../../common/proxy.js";
import { unusedBuildArgs } from "../../frontend/plan/build-args.js";

test("proxy build args are read in either case, the lower-case spelling winning, and given to the guest in both", () => {
  const proxy = proxyEnv(new Map([["HTTP_PROXY", "http://upper"], ["http_proxy", "http://lower"], ["NO_PROXY", "x"], ["HTTP_PROXY_X", "no"], ["ALL_PROXY", ""]]));
  assert.deepEqual(proxy, { http_proxy: "http://lower", no_proxy: "x" });
  assert.deepEqual(proxyEnvLines(proxy), ["HTTP_PROXY=http://lower", "http_proxy=http://lower", "NO_PROXY=x", "no_proxy=x"]);
  assert.deepEqual(proxyEnv({ https_proxy: "http://env", PATH: "/bin" }), { https_proxy: "http://env" }, "from a process environment");
});

test("only build args no one reads are unused: not the declared ones, the proxies, BuildKit's or the frontend's own", () => {
  const given = new Map(["ZED", "GREETING", "HTTPS_PROXY", "BUILDKIT_SYNTAX", "CX_IMAGE_PREFIX", "SOURCE_DATE_EPOCH", "ALPHA"].map((k) => [k, "1"]));
  assert.deepEqual(unusedBuildArgs(given, { args: [{ name: "GREETING", value: "1", pos: { line: 2, column: 3 } }] }), ["ALPHA", "ZED"]);
});
