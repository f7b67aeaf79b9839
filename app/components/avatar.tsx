import { useEffect, useRef, useState } from "react";

/** "Ada Lovelace" → "AL", "sam-dev" → "SD", "octocat" → "O". */
export function initials(name: string): string {
  const words = name.split(/[\s._-]+/).filter(Boolean);
  return (
    words
      .slice(0, 2)
      .map((word) => word[0]!.toUpperCase())
      .join("") || "?"
  );
}

/**
 * The user's picture, or their initials when there is none or it does not load. An image that failed before
 * React hydrated fired its error event too early for onError, so the mount effect checks it once more.
 */
export function Avatar({ src, name }: { src: string | null; name: string }) {
  const [failed, setFailed] = useState(!src);
  const image = useRef<HTMLImageElement>(null);
  useEffect(() => {
    setFailed(!src);
    const img = image.current;
    if (img?.complete && img.naturalWidth === 0) setFailed(true);
  }, [src]);
  if (failed || !src) {
    return (
      <span
        aria-hidden
        data-testid="avatar-initials"
        className="grid h-6 w-6 place-items-center rounded-full bg-indigo-600 text-[0.625rem] font-semibold text-white"
      >
        {initials(name)}
      </span>
    );
  }
  return (
    <img
      ref={image}
      src={src}
      alt=""
      data-testid="avatar-image"
      className="h-6 w-6 rounded-full"
      onError={() => setFailed(true)}
    />
  );
}
