import { afterAll } from 'vitest';
import { removeTempDirs } from './temp.js';

afterAll(() => {
  removeTempDirs();
});
