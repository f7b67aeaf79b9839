/** Workspace sizes and the Hetzner server types they map to (shared by forms and server code). */
export const sizes = {
  small: { label: "Small", serverType: "cx23" },
  medium: { label: "Medium", serverType: "cx33" },
  large: { label: "Large", serverType: "cx43" },
} as const;
export type Size = keyof typeof sizes;
export const sizeNames = Object.keys(sizes) as Size[];
