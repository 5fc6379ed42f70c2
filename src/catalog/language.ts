/** @module catalog/language — the language catalogers (npm, Python, Go binaries, Java archives) in run order. */
import type { Cataloger } from './cataloger.js';
import { goCataloger } from './go/go-cataloger.js';
import { javaCataloger } from './java/java-cataloger.js';
import { npmCataloger } from './npm/npm-cataloger.js';
import { pythonCataloger } from './python/python-cataloger.js';

export { goCataloger, javaCataloger, npmCataloger, pythonCataloger };

export const languageCatalogers: readonly Cataloger[] = [npmCataloger, pythonCataloger, goCataloger, javaCataloger];
