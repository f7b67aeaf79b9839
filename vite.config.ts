import { vitePlugin as remix, cloudflareDevProxyVitePlugin } from "@remix-run/dev";
import tailwindcss from "@tailwindcss/vite";
import { defineConfig } from "vite";
import { getLoadContext } from "./app/platform/context.server";

declare module "@remix-run/cloudflare" {
  interface Future {
    v3_singleFetch: true;
  }
}

export default defineConfig({
  plugins: [
    cloudflareDevProxyVitePlugin({ getLoadContext }),
    remix({
      // Tests may sit beside the route they test.
      ignoredRouteFiles: ["**/*.test.ts"],
      future: {
        v3_fetcherPersist: true,
        v3_relativeSplatPath: true,
        v3_throwAbortReason: true,
        v3_singleFetch: true,
        v3_lazyRouteDiscovery: true,
      },
    }),
    tailwindcss(),
  ],
  resolve: {
    alias: [
      { find: /^~\//, replacement: `${new URL("./app/", import.meta.url).pathname}` },
      // @xterm/xterm 6.0.0's ES module build throws "ReferenceError: i is not defined" on DECRQM (which vim
      // sends at start-up) once bundled, freezing the terminal; its CommonJS build is unaffected.
      {
        find: /^@xterm\/xterm$/,
        replacement: new URL("./node_modules/@xterm/xterm/lib/xterm.js", import.meta.url).pathname,
      },
    ],
  },
  // The Workers runtime's own modules (cloudflare:sockets for the sweep's probe) are provided at run time.
  build: { rollupOptions: { external: [/^cloudflare:/] } },
  server: { port: 5173 },
});
