// Stands in for build/server/index.js (made by `remix vite:build`) until it exists, so `tsc` runs on a fresh
// clone; tsconfig's `paths` try the real build first.
export {};
