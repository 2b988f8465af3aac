/**
 * The URL of a module next to `base` (pass `import.meta.url`), written with its `.js`
 * name. When running from TypeScript sources (tests, tsx) the `.ts` file is named instead,
 * so the same call works before and after the build.
 */
export function siblingModule(base: string, relative: string): string {
  const url = new URL(relative, base);
  if (base.endsWith('.ts') && url.pathname.endsWith('.js')) url.pathname = `${url.pathname.slice(0, -3)}.ts`;
  return url.href;
}
