@intrusion-detection
Feature: Intrusion detection
  Practice 6 of the seed: notice when the cluster's configuration or keys
  change behind the administrators' backs. The candidate's AIDE
  configuration is checked for coverage, then run for real on the nodes.

  @static @live @high @SI-7 @SI-4 @CIS-13.2
  Scenario: File integrity monitoring covers the cluster's configuration and keys
    An attacker who changes corosync.conf or copies in a new key changes the cluster; only a content hash notices.
    Remediation: in /etc/aide/aide.conf define `ClusterFiles = p+u+g+s+m+c+sha256` and select `/etc/corosync ClusterFiles`, `/etc/pacemaker ClusterFiles` and `/etc/default/pcsd ClusterFiles`; run `aide --init`.
    Then the file-integrity configuration covers these paths:
      | path                        |
      | /etc/corosync/corosync.conf |
      | /etc/corosync/authkey       |
      | /etc/pacemaker/authkey      |
      | /etc/default/pcsd           |

  @live @high @destructive @SI-7 @SI-4 @CIS-13.2
  Scenario: Tampering with the configuration and the key is detected
    A file-integrity tool that is configured but does not find a changed key is worse than none: it reassures.
    Remediation: select the files with a rule that includes a content hash (sha256) and size, and keep the baseline database current after every intended change.
    When the file-integrity baseline is taken on every node
    And the files "/etc/corosync/corosync.conf, /etc/corosync/authkey" are tampered with on "node1"
    Then the file-integrity check on "node1" reports exactly the tampered files
    And the file-integrity check on "node2" reports no change
