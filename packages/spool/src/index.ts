export { SpoolFile, syncDir, writeFileDurably, type ReadOptions, type SpoolFileOptions } from './spool-file.js';
