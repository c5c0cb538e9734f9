/**
 * wavefile's package points bundlers at an ES module with named exports only, while the toolkit
 * imports it as Node does (a default export holding WaveFile). The bundler is pointed here.
 */
import { WaveFile } from 'wavefile/index.js';
export default { WaveFile };
export { WaveFile };
