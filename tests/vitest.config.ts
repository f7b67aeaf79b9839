import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { generateKeys } from "../scripts/keys.mjs";
import { localDefaults, localSecrets } from "../scripts/local-env.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const alias = { "~": `${root}app` };

/** Config values for tests: local defaults and fresh keys, as `npm start` would write them to .dev.vars. */
const testEnv = {
  ...localDefaults({ appPort: 8788, cloudPort: 8790 }),
  ...localSecrets(),
  ...generateKeys(),
  VERSION: "test",
};

export default defineConfig({
  test: {
    projects: [
      {
        root,
        resolve: { alias },
        test: {
          name: "node",
          environment: "node",
          include: ["app/**/*.test.ts", "scripts/**/*.test.ts", "bench/**/*.test.ts"],
          exclude: ["**/*.workers.test.ts", "**/node_modules/**"],
          env: { SAM_TEST_ENV: JSON.stringify(testEnv) },
        },
      },
      {
        root,
        resolve: { alias },
        plugins: [
          cloudflareTest(async () => ({
            miniflare: {
              compatibilityDate: "2025-09-01",
              compatibilityFlags: ["nodejs_compat"],
              d1Databases: ["DB"],
              kvNamespaces: ["SESSIONS"],
              r2Buckets: ["AGENTS"],
              bindings: { ...testEnv, TEST_MIGRATIONS: await readD1Migrations(`${root}drizzle`) },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["app/**/*.workers.test.ts"],
          setupFiles: ["./tests/apply-migrations.ts"],
        },
      },
    ],
  },
});
