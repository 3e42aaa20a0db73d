export { SpoolFile, syncDir, writeFileDurably, type ReadOptions } from './spool-file.js';
