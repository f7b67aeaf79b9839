/** The config values vitest generated for this run (tests/vitest.config.ts): local defaults and fresh keys. */
export function testEnv(): Record<string, string> {
  const raw = process.env.SAM_TEST_ENV;
  if (!raw)
    throw new Error("SAM_TEST_ENV is not set: run the tests with `npm test` or `npx vitest -c tests/vitest.config.ts`");
  return JSON.parse(raw) as Record<string, string>;
}
