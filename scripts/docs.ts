// Regenerates the generated parts of README.md (npm run docs): the configuration reference.
import { readFileSync, writeFileSync } from 'node:fs';
import { configReferenceMarkdown, replaceGenerated } from '../src/config/docs.js';

const path = new URL('../README.md', import.meta.url);
writeFileSync(path, replaceGenerated(readFileSync(path, 'utf8'), 'config', configReferenceMarkdown()));
