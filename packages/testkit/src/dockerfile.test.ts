import { describe, expect, it } from 'vitest';
import { parseDockerfile } from './dockerfile.js';

const TWO_STAGES = `FROM node:20 AS build
ENV BUILD_ONLY=1
CMD ["node", "build.js"]

FROM node:20-slim
ENV NODE_ENV=production \\
    PORT=8080
ENV EMPTY=
CMD ["node", "--heap-growing-percent=80", "services/authz/dist/main.js"]
`;

describe('parseDockerfile', () => {
  it('reads the final stage: ENV across continuation lines, and the exec-form CMD', () => {
    expect(parseDockerfile(TWO_STAGES)).toEqual({
      env: { NODE_ENV: 'production', PORT: '8080', EMPTY: '' },
      cmd: ['node', '--heap-growing-percent=80', 'services/authz/dist/main.js'],
    });
  });

  it('refuses what it cannot read, naming the file', () => {
    expect(() => parseDockerfile('FROM x\nCMD node main.js\n', 'a.Dockerfile')).toThrow('a.Dockerfile: no exec-form CMD');
    expect(() => parseDockerfile('FROM x\nENV A="b c"\nCMD ["node"]\n', 'a.Dockerfile')).toThrow('a.Dockerfile: cannot read ENV A="b');
    expect(() => parseDockerfile('FROM x\nCMD [1]\n', 'a.Dockerfile')).toThrow('a.Dockerfile: CMD is not a list of strings');
  });
});
