/** A FormData with the given entries, in order (repeated names allowed), as a browser would submit it. */
export const form = (entries: Array<[string, string]>) => {
  const data = new FormData();
  for (const [name, value] of entries) data.append(name, value);
  return data;
};
