@patching
Feature: Regular updates and patching
  Practice 3 of the seed: no node runs a cluster stack older than the first
  release that fixes a known vulnerability, and all nodes run the same one.

  @static @live @high @SI-2 @RA-5 @CIS-7.4
  Scenario: The cluster stack includes the fixes for known CVEs
    Known vulnerabilities in pacemaker, corosync or pcs are the first thing an attacker tries.
    Remediation: upgrade the listed packages from the distribution's security archive.
    Then every node has at least these package versions:
      | package     | version  | reason                                         |
      | pacemaker   | 2.0.5    | CVE-2020-25654: ACL bypass through the IPC     |
      | corosync    | 2.4.4    | CVE-2018-1084: integer overflow in totemcrypto |
      | pcs         | 0.11.4   | CVE-2022-2735: pcsd socket exposed to users    |
      | crmsh       | 4.3.1    | CVE-2020-35459: crm history code execution     |
      | libknet1    | 1.25     | knet link and crypto fixes                     |
      | libknet1t64 | 1.25     | knet link and crypto fixes                     |

  @static @live @medium @CM-2 @CIS-2.2
  Scenario: Every node runs the same cluster software
    Mixed versions are for rolling upgrades only, never a steady state.
    Remediation: finish the upgrade on every node.
    Then every node runs the same versions of "pacemaker, corosync, pcs, crmsh"
