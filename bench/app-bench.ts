export async function appFigures(_r: unknown) {}
