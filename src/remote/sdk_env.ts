/**
 * @module
 * The environment the vendor SDKs (box-node-sdk, the AWS SDK) see: never the process's own.
 * One of box-node-sdk's dependencies enumerates `process.env` on import, and the AWS SDK reads
 * some forty variables (endpoint, retry, checksum, IMDS, container credentials…), each of which
 * would be a permission prompt or a denial under the sandbox's `--allow-env` list. Before either
 * SDK is imported, the Node-compatible `process.env` is replaced by a plain object that holds
 * only what astrabak chose to pass (read once, in src/config/env.ts). One object for both SDKs:
 * a run that talks to Box and S3 must not have one SDK's setup hide the other's credentials.
 */

import process from "node:process";

let visible: Record<string, string> | undefined;

/**
 * Installs the SDKs' environment (once) and adds `values` to it. `AWS_EC2_METADATA_DISABLED`
 * keeps the AWS credential chain from probing the EC2 metadata service, which the sandbox does
 * not allow and which would only delay "no credentials" by seconds. `HOME` names no directory:
 * the AWS SDK looks for `~/.aws/config` on every client (and asks for the user id, a `--allow-sys`
 * permission, when HOME is unset); shared files are read only where AWS_CONFIG_FILE and
 * AWS_SHARED_CREDENTIALS_FILE name them.
 */
export function sdkEnvironment(values: Readonly<Record<string, string>> = {}): void {
  if (!visible) {
    visible = { AWS_EC2_METADATA_DISABLED: "true", HOME: "/nonexistent" };
    Object.defineProperty(process, "env", {
      value: visible,
      configurable: true,
      writable: true,
      enumerable: true,
    });
    (process as unknown as { noDeprecation: boolean }).noDeprecation = true;
  }
  Object.assign(visible, values);
}
