/** @module catalog/go/go-cataloger.test — Go binary cataloger against real binaries (Debian, `go build`, synthetic pre-1.18 layouts); oracle: `go version -m`. */
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { debianRoot, directoryContext, freshDir, goBinaries, run, removeFreshDirs } from '../../../test/fixtures/catalog-lang/lang-helpers.js';
import type { GoModulePackage } from '../../sbom/package.js';
import { BUILDINFO_MAGIC, parseModinfo, readGoBuildInfo } from './buildinfo.js';
import { goCataloger, golangPurl, ldflagsVersion, selectsGoCandidate } from './go-cataloger.js';

/** What `go version -m` says: Go version, main module and effective dependencies (replacements applied). */
function goVersionM(binary: string): { goVersion: string; main?: { path: string; version: string }; deps: string[] } {
  const lines = run('go', ['version', '-m', binary]).split('\n');
  const goVersion = (lines[0] ?? '').split(': ').pop() ?? '';
  const out: { goVersion: string; main?: { path: string; version: string }; deps: string[] } = { goVersion, deps: [] };
  for (const line of lines.slice(1)) {
    const [, verb, path, version] = line.split('\t');
    if (verb === 'mod') out.main = { path: path ?? '', version: version ?? '' };
    else if (verb === 'dep') out.deps.push(`${path}@${version}`);
    else if (verb === '=>') out.deps[out.deps.length - 1] = `${path}@${version}`;
  }
  return out;
}

function depsOf(packages: GoModulePackage[], path: string): string[] {
  return packages
    .filter((p) => p.locations[0]?.path === path && !p.main && p.name !== 'stdlib')
    .map((p) => `${p.name}@${p.version === '' ? '(devel)' : p.version}`)
    .sort();
}

/** A minimal ELF with a `.go.buildinfo` section in the pre-1.18 pointer format (or inline, for hostile variants). */
function synthElf(options: { is64: boolean; le: boolean; version: string; modinfo: Buffer; inline?: Buffer; sections?: boolean }): Buffer {
  const { is64, le } = options;
  const ptr = is64 ? 8 : 4;
  const dataOff = 0x1000;
  const vaddr = 0x400000 + dataOff;
  const data = Buffer.alloc(0x1000);
  BUILDINFO_MAGIC.copy(data, 0);
  data[14] = ptr;
  const putPtr = (buf: Buffer, at: number, value: number): void => {
    if (is64) le ? buf.writeBigUInt64LE(BigInt(value), at) : buf.writeBigUInt64BE(BigInt(value), at);
    else le ? buf.writeUInt32LE(value, at) : buf.writeUInt32BE(value, at);
  };
  let dataLen: number;
  if (options.inline !== undefined) {
    data[15] = 2;
    options.inline.copy(data, 32);
    dataLen = 32 + options.inline.length;
  } else {
    data[15] = le ? 0 : 1;
    const versionHeader = 0x40;
    const modHeader = 0x50;
    const versionAt = 0x60;
    const modAt = versionAt + options.version.length;
    putPtr(data, 16, vaddr + versionHeader);
    putPtr(data, 16 + ptr, vaddr + modHeader);
    putPtr(data, versionHeader, vaddr + versionAt);
    putPtr(data, versionHeader + ptr, options.version.length);
    putPtr(data, modHeader, vaddr + modAt);
    putPtr(data, modHeader + ptr, options.modinfo.length);
    data.write(options.version, versionAt, 'latin1');
    options.modinfo.copy(data, modAt);
    dataLen = modAt + options.modinfo.length;
  }
  const shstrtab = Buffer.from('\0.go.buildinfo\0.shstrtab\0', 'latin1');
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const shentsize = is64 ? 64 : 40;
  const strOff = dataOff + data.length;
  const shOff = strOff + 0x100;
  const withSections = options.sections !== false;
  const file = Buffer.alloc(shOff + (withSections ? 3 * shentsize : 0));
  const u16 = (at: number, v: number): number => (le ? file.writeUInt16LE(v, at) : file.writeUInt16BE(v, at));
  const u32 = (at: number, v: number): number => (le ? file.writeUInt32LE(v, at) : file.writeUInt32BE(v, at));
  const word = (at: number, v: number): void => putPtr(file, at, v);
  file.write('\x7fELF', 0, 'latin1');
  file[4] = is64 ? 2 : 1;
  file[5] = le ? 1 : 2;
  file[6] = 1;
  u16(16, 2); // ET_EXEC
  u16(18, is64 ? 62 : 8); // x86-64 / MIPS
  u32(20, 1);
  word(24, 0x401000); // entry
  word(is64 ? 32 : 28, ehsize); // phoff
  word(is64 ? 40 : 32, withSections ? shOff : 0);
  u16(is64 ? 52 : 40, ehsize);
  u16(is64 ? 54 : 42, phentsize);
  u16(is64 ? 56 : 44, 1);
  u16(is64 ? 58 : 46, shentsize);
  u16(is64 ? 60 : 48, withSections ? 3 : 0);
  u16(is64 ? 62 : 50, withSections ? 2 : 0);
  // PT_LOAD, RW, covering the data page.
  const ph = ehsize;
  u32(ph, 1);
  if (is64) {
    u32(ph + 4, 6);
    word(ph + 8, dataOff);
    word(ph + 16, vaddr);
    word(ph + 24, vaddr);
    word(ph + 32, data.length);
    word(ph + 40, data.length);
    word(ph + 48, 0x1000);
  } else {
    word(ph + 4, dataOff);
    word(ph + 8, vaddr);
    word(ph + 12, vaddr);
    word(ph + 16, data.length);
    word(ph + 20, data.length);
    u32(ph + 24, 6);
    word(ph + 28, 0x1000);
  }
  data.copy(file, dataOff);
  shstrtab.copy(file, strOff);
  if (withSections) {
    const sh = (index: number, name: number, type: number, flags: number, addr: number, offset: number, size: number): void => {
      const at = shOff + index * shentsize;
      u32(at, name);
      u32(at + 4, type);
      if (is64) {
        word(at + 8, flags);
        word(at + 16, addr);
        word(at + 24, offset);
        word(at + 32, size);
      } else {
        word(at + 8, flags);
        word(at + 12, addr);
        word(at + 16, offset);
        word(at + 20, size);
      }
    };
    sh(1, 1, 1, 3, vaddr, dataOff, Math.max(32, dataLen)); // .go.buildinfo, PROGBITS, WA
    sh(2, 15, 3, 0, 0, strOff, shstrtab.length); // .shstrtab
  }
  return file;
}

const START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const END = Buffer.from('f932433186182072008242104116d8f2', 'hex');
function framed(text: string): Buffer {
  return Buffer.concat([START, Buffer.from(text, 'utf8'), END]);
}

function writeExe(root: string, path: string, content: Buffer): string {
  const full = join(root, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, content);
  chmodSync(full, 0o755);
  return full;
}

afterAll(removeFreshDirs);

describe('goCataloger', () => {
  it('matches `go version -m` on Debian Go binaries (GOPATH builds: no modules, just the toolchain)', async () => {
    const root = debianRoot('go', ['skopeo', 'docker-registry']);
    const result = await goCataloger.catalog(await directoryContext(root));
    expect(result.issues).toEqual([]);
    for (const bin of ['/usr/bin/skopeo', '/usr/bin/docker-registry']) {
      const oracle = goVersionM(join(root, bin));
      const ours = result.packages.filter((p) => p.locations[0]?.path === bin) as GoModulePackage[];
      expect(ours.length, bin).toBeGreaterThan(0);
      expect(ours.every((p) => p.goVersion === oracle.goVersion)).toBe(true);
      expect(depsOf(ours, bin)).toEqual(oracle.deps.sort());
      expect(ours.filter((p) => p.main).map((p) => p.name)).toEqual(oracle.main === undefined ? [] : [oracle.main.path]);
      const stdlib = ours.find((p) => p.name === 'stdlib');
      expect(stdlib?.purl).toBe(`pkg:golang/stdlib@v${oracle.goVersion.slice(2)}`);
    }
    // Only the two Go executables produce packages; the init script (not ELF) is never selected.
    expect(new Set(result.packages.map((p) => p.locations[0]?.path))).toEqual(new Set(['/usr/bin/skopeo', '/usr/bin/docker-registry']));
  });

  it('matches `go version -m` on freshly built module binaries, stripped or not', async () => {
    const dir = goBinaries();
    const root = join(dir, 'root');
    const result = await goCataloger.catalog(await directoryContext(root));
    expect(result.issues).toEqual([]);
    const pkgs = result.packages as GoModulePackage[];
    for (const name of ['app', 'app-stripped', 'hello']) {
      const path = `/usr/local/bin/${name}`;
      const oracle = goVersionM(join(root, path));
      expect(oracle.main?.version).toBe('(devel)');
      const ours = pkgs.filter((p) => p.locations[0]?.path === path);
      expect(ours.every((p) => p.goVersion === oracle.goVersion && p.goVersion === 'go1.19.8')).toBe(true);
      expect(depsOf(ours, path)).toEqual(oracle.deps.sort());
      const main = ours.find((p) => p.main);
      expect(main?.name).toBe(oracle.main?.path);
    }
    expect(depsOf(pkgs, '/usr/local/bin/app')).toEqual(['./localdep@(devel)', 'example.com/greet@v1.2.3']);
    const greet = pkgs.find((p) => p.name === 'example.com/greet');
    expect(greet?.purl).toBe('pkg:golang/example.com/greet@v1.2.3');
    expect(greet?.sum).toMatch(/^h1:[A-Za-z0-9+/]+=*$/);
    // (devel) main modules: Trivy's convention, the -X main.version stamp, else no version.
    const app = pkgs.find((p) => p.main && p.locations[0]?.path === '/usr/local/bin/app');
    expect(app?.version).toBe('1.4.2');
    expect(app?.purl).toBe('pkg:golang/example.com/app@1.4.2');
    const hello = pkgs.find((p) => p.main && p.locations[0]?.path === '/usr/local/bin/hello');
    expect(hello?.version).toBe('');
    expect(hello?.purl).toBe('pkg:golang/example.com/hello');
    expect(hello?.id).toBe('pkg:golang/example.com/hello#/usr/local/bin/hello');
    expect(result.relationships.filter((r) => r.from === app?.id).map((r) => r.type)).toEqual(['depends-on', 'depends-on', 'depends-on']);
  });

  it('finds build info without section headers by scanning the writable segment', async () => {
    const dir = goBinaries();
    const root = freshDir('go-nosections');
    const bin = readFileSync(join(dir, 'root/usr/local/bin/app'));
    // Drop the section header table: e_shoff = 0, e_shnum = 0, e_shstrndx = 0 (ELF64 LE).
    bin.writeBigUInt64LE(0n, 0x28);
    bin.writeUInt16LE(0, 0x3c);
    bin.writeUInt16LE(0, 0x3e);
    const path = writeExe(root, 'bin/app', bin);
    const oracle = goVersionM(path);
    const result = await goCataloger.catalog(await directoryContext(root));
    expect(result.issues).toEqual([]);
    expect(depsOf(result.packages as GoModulePackage[], '/bin/app')).toEqual(oracle.deps.sort());
    expect(oracle.deps).toHaveLength(2);
  });

  it('decodes the pre-1.18 pointer format (64-bit LE, 32-bit BE) exactly as `go version -m` does', async () => {
    const root = freshDir('go-old');
    const modinfo = framed('path\texample.com/old/cmd/x\nmod\texample.com/old\tv0.3.0\th1:abc=\ndep\tgithub.com/pkg/errors\tv0.9.1\th1:def=\ndep\tgolang.org/x/sys\tv0.0.1\n=>\tgolang.org/x/sys\tv0.0.2\th1:ghi=\n');
    writeExe(root, 'bin/old64', synthElf({ is64: true, le: true, version: 'go1.16.15', modinfo }));
    writeExe(root, 'bin/old32be', synthElf({ is64: false, le: false, version: 'go1.17.2', modinfo }));
    const result = await goCataloger.catalog(await directoryContext(root));
    expect(result.issues).toEqual([]);
    for (const bin of ['/bin/old64', '/bin/old32be']) {
      const oracle = goVersionM(join(root, bin));
      const ours = (result.packages as GoModulePackage[]).filter((p) => p.locations[0]?.path === bin);
      expect(ours[0]?.goVersion).toBe(oracle.goVersion);
      expect(depsOf(ours, bin)).toEqual(oracle.deps.sort());
      expect(ours.find((p) => p.main)?.version).toBe(oracle.main?.version);
    }
    expect(depsOf(result.packages as GoModulePackage[], '/bin/old64')).toEqual(['github.com/pkg/errors@v0.9.1', 'golang.org/x/sys@v0.0.2']);
  });

  it('records malformed binaries as PARSE_FAILED and ignores non-Go executables', async () => {
    const dir = goBinaries();
    const hello = readFileSync(join(dir, 'root/usr/local/bin/hello'));
    const root = freshDir('go-hostile');
    const beyond = Buffer.from(hello);
    beyond.writeBigUInt64LE(BigInt(hello.length + 4096), 0x28); // e_shoff past the end
    writeExe(root, 'bin/shoff-beyond', beyond);
    writeExe(root, 'bin/truncated', hello.subarray(0, Math.floor(hello.length / 2)));
    const varint = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]); // a 4 GiB version string
    writeExe(root, 'bin/garbage-after-magic', synthElf({ is64: true, le: true, version: '', modinfo: Buffer.alloc(0), inline: varint }));
    writeExe(root, 'bin/bad-pointer', synthElf({ is64: true, le: true, version: 'go1.16', modinfo: framed('path\tx\n') }).fill(0xee, 0x1040, 0x1050));
    writeExe(root, 'bin/tiny', Buffer.from('\x7fELF\x02\x01\x01', 'latin1'));
    copyFileSync('/bin/true', join(root, 'bin/true'));
    chmodSync(join(root, 'bin/true'), 0o755);
    writeExe(root, 'bin/script', Buffer.from('#!/bin/sh\necho hi\n'));
    writeFileSync(join(root, 'bin/not-exec'), hello);
    chmodSync(join(root, 'bin/not-exec'), 0o644);
    const result = await goCataloger.catalog(await directoryContext(root));
    expect(result.packages).toEqual([]);
    const codes = Object.fromEntries(result.issues.map((i) => [i.path, i.code]));
    expect(codes).toEqual({
      '/bin/shoff-beyond': 'PARSE_FAILED',
      '/bin/truncated': 'PARSE_FAILED',
      '/bin/garbage-after-magic': 'PARSE_FAILED',
      '/bin/bad-pointer': 'PARSE_FAILED',
      '/bin/tiny': 'PARSE_FAILED',
    });
    expect(result.issues.every((i) => i.source === 'go-binary')).toBe(true);
  });

  it('selects executable ELF files from metadata alone', () => {
    const base = { path: '/x', type: 'file' as const, uid: 0, gid: 0, size: 10, mtime: 0, layer: 0 };
    expect(selectsGoCandidate({ ...base, mode: 0o755, magic: Buffer.from('\x7fELF', 'latin1') })).toBe(true);
    expect(selectsGoCandidate({ ...base, mode: 0o644, magic: Buffer.from('\x7fELF', 'latin1') })).toBe(false);
    expect(selectsGoCandidate({ ...base, mode: 0o755, magic: Buffer.from('#!/b', 'latin1') })).toBe(false);
    expect(selectsGoCandidate({ ...base, mode: 0o755 })).toBe(false);
    expect(selectsGoCandidate({ ...base, type: 'symlink', mode: 0o777, magic: Buffer.from('\x7fELF', 'latin1') })).toBe(false);
  });

  it('parses modinfo settings and ldflags versions', () => {
    const info = parseModinfo('path\tp\nmod\tm\t(devel)\t\nbuild\t-ldflags="-s -X \'github.com/a/b/cmd/b/version.Version=v2.0.1\' -X main.version=1.0.0"\nbuild\t"weird=key"=v\n');
    expect(info.main).toEqual({ path: 'm', version: '(devel)' });
    expect(info.settings).toEqual([
      { key: '-ldflags', value: "-s -X 'github.com/a/b/cmd/b/version.Version=v2.0.1' -X main.version=1.0.0" },
      { key: 'weird=key', value: 'v' },
    ]);
    expect(ldflagsVersion('github.com/a/b', info.settings)).toBe('v2.0.1');
    expect(ldflagsVersion('other', [{ key: '-ldflags', value: '-X main.version=1.0.0 -X github.com/x/pkg/build.ver=2.0.0' }])).toBe('1.0.0');
    expect(ldflagsVersion('other', [{ key: '-ldflags', value: '-X main.version=1.0.0 -X cmd.version=2.0.0' }])).toBe('');
    expect(ldflagsVersion('other', [{ key: '-ldflags', value: '-X main.version=notsemver' }])).toBe('');
    expect(golangPurl('github.com/x/y', 'v1.2.3')).toBe('pkg:golang/github.com/x/y@v1.2.3');
    expect(readGoBuildInfo(synthElf({ is64: true, le: true, version: 'go1.16', modinfo: Buffer.from('short') }))).toEqual({ goVersion: 'go1.16', deps: [], settings: [] });
  });
});
