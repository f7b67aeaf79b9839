import { createContext, useContext } from "react";

/**
 * The per-response nonce the Content-Security-Policy allows inline scripts by (Remix's hydration and scroll
 * scripts). The server render provides it; in the browser it is empty, as browsers hide the attribute anyway.
 */
const NonceContext = createContext("");

export const NonceProvider = NonceContext.Provider;

export function useNonce(): string {
  return useContext(NonceContext);
}
