/** @module match/matcher — the Matcher contract: one per ecosystem, turning one package plus the store into findings. */
import type { LinuxRelease, Package } from '../sbom/package.js';
import type { VulnStore } from '../vuln/vuln-store.js';
import type { Namespace } from '../vuln/vulnerability.js';
import type { Finding } from './finding.js';

export interface MatchContext {
  store: VulnStore;
  distro?: LinuxRelease;
}

export interface Matcher {
  /** `debian`, `alpine`, `osv-npm`, … (recorded as MatchEvidence.matcher). */
  readonly name: string;
  handles(pkg: Package, distro?: LinuxRelease): boolean;
  /**
   * The namespace this package is looked up in (`debian:bookworm`, `pypi`), or undefined when it cannot be
   * told (an unknown Debian release). The engine uses it to report namespaces with no data in the store.
   */
  namespaceOf(pkg: Package, distro?: LinuxRelease): Namespace | undefined;
  match(pkg: Package, context: MatchContext): Finding[];
}
