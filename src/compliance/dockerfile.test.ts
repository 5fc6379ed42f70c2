import { describe, expect, it } from 'vitest';
import { DistillError } from '../errors.js';
import { MAX_DOCKERFILE_BYTES, parseDockerfile, runCommand } from './dockerfile.js';

function invalid(text: string | Buffer): DistillError {
  try {
    parseDockerfile(text, 'Dockerfile.test');
  } catch (error) {
    expect(error).toBeInstanceOf(DistillError);
    expect((error as DistillError).code).toBe('DOCKERFILE_INVALID');
    return error as DistillError;
  }
  throw new Error('expected DOCKERFILE_INVALID');
}

describe('parseDockerfile', () => {
  it('joins continuations, skips comments inside them and keeps first and last lines', () => {
    const file = parseDockerfile('# syntax=docker/dockerfile:1\nFROM debian:bookworm-slim AS base\n\n# comment\nRUN apt-get update \\\n  # explain\n  && apt-get install -y curl \\\n  && rm -rf /var/lib/apt/lists/*\nCMD ["nginx", "-g", "daemon off;"]\n');
    expect(file.instructions.map((i) => [i.name, i.line, i.endLine])).toEqual([['FROM', 2, 2], ['RUN', 5, 8], ['CMD', 9, 9]]);
    expect(runCommand(file.instructions[1]!)).toBe('apt-get update    && apt-get install -y curl    && rm -rf /var/lib/apt/lists/*');
    expect(file.instructions[2]!.json).toEqual(['nginx', '-g', 'daemon off;']);
  });

  it('reads flags, ENV/ARG/LABEL pairs in both forms, and falls back to the shell form for bad JSON', () => {
    const file = parseDockerfile('FROM x\nCOPY --from=build --chown=1:1 /a /b\nENV A=1 B="two words"\nENV LEGACY value with spaces\nARG TOKEN\nARG PASSWORD=s3cret\nLABEL "k"="v"\nRUN ["broken json\n');
    const [, copy, env, legacy, arg, argv, label, run] = file.instructions;
    expect(copy!.flags).toEqual(['--from=build', '--chown=1:1']);
    expect(env!.pairs).toEqual([{ key: 'A', value: '1' }, { key: 'B', value: 'two words' }]);
    expect(legacy!.pairs).toEqual([{ key: 'LEGACY', value: 'value with spaces' }]);
    expect(arg!.pairs).toEqual([{ key: 'TOKEN', value: undefined }]);
    expect(argv!.pairs).toEqual([{ key: 'PASSWORD', value: 's3cret' }]);
    expect(label!.pairs).toEqual([{ key: 'k', value: 'v' }]);
    expect(run!.json).toBeUndefined();
    expect(run!.raw).toBe('["broken json');
  });

  it('honours the escape directive (backtick, Windows style)', () => {
    const file = parseDockerfile('# escape=`\nFROM x\nRUN dir C:\\ `\n  && echo done\n');
    expect(file.escape).toBe('`');
    expect(file.instructions[1]!.raw).toBe('dir C:\\    && echo done');
  });

  it('rejects bad input naming the line', () => {
    expect(invalid('FROM x\nRUN echo \\\n').message).toContain('Dockerfile.test:2: line continuation at the end of the file');
    expect(invalid('FROM x\nRUN echo \\\n\n# only comments after\n').message).toContain(':2:');
    expect(invalid('FROM x\nFROBNICATE now\n').message).toContain('Dockerfile.test:2: unknown instruction');
    expect(invalid('FROM x\nENV =v\n').message).toContain(':2:');
    expect(invalid('RUN echo no base\n').message).toContain('no FROM');
    expect(invalid('FROM x\nRUN\n').message).toContain(':2: RUN has no arguments');
  });

  it('bounds hostile input: huge lines, endless continuations, binary, oversize files', () => {
    expect(invalid(`FROM x\nRUN ${'a'.repeat(300 * 1024)}\n`).message).toContain('longer than');
    expect(invalid(`FROM x\nRUN a \\\n${'b \\\n'.repeat(200_000)}c\n`).message).toMatch(/longer than|over the/);
    expect(invalid(Buffer.from([0x46, 0x52, 0x4f, 0x4d, 0, 0x20])).message).toContain('binary');
    expect(invalid('#'.repeat(MAX_DOCKERFILE_BYTES + 1)).message).toContain('over the');
    const start = Date.now();
    expect(parseDockerfile(`FROM x\n${'# c\n'.repeat(100_000)}RUN true\n`).instructions).toHaveLength(2);
    expect(Date.now() - start).toBeLessThan(3000);
  });
});
