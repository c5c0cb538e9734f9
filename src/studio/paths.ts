import { fileURLToPath } from 'node:url';

/** The package's root folder (this file is compiled to dist/src/studio/paths.js). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Where `npm run build` puts the built page. */
export const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../../../dist/web/', import.meta.url));
