@auditing
Feature: Auditing
  Practice 5 of the seed: record who changed the cluster's configuration, and
  when, so that unauthorised changes can be found and traced. Containers have
  no kernel audit subsystem of their own, so the audit rules are checked as
  written; what the cluster and syslog record is checked on running nodes.
  Parameter: operator = auto — the account that changes the CIB through sudo; auto takes the first user the candidate's sudoers let run crm_resource
  Parameter: audited_resource = auto — the resource whose meta attribute is changed; auto takes the first the candidate runs that can move

  @static @live @high @AU-2 @AU-12 @CIS-8.2
  Scenario: Audit rules watch the cluster's configuration and keys
    Without a watch on these paths a changed corosync.conf, CIB or key leaves no trace of who changed it.
    Remediation: add `-w /etc/corosync -p wa -k cluster-config` (and likewise for /etc/pacemaker, /var/lib/pacemaker/cib, /var/lib/pcsd) to /etc/audit/rules.d/cluster.rules; run `augenrules --load`.
    Then the audit rules watch these paths for writes and attribute changes:
      | path                   |
      | /etc/corosync          |
      | /etc/pacemaker         |
      | /var/lib/pacemaker/cib |
      | /var/lib/pcsd          |

  @static @live @medium @AU-3 @AU-8 @CIS-8.2
  Scenario: Corosync logs to a file and to syslog with timestamps
    Membership changes and crypto errors are the first sign of a rogue node; without timestamps they cannot be lined up with other logs.
    Remediation: in corosync.conf set `logging { to_logfile: yes; logfile: /var/log/corosync/corosync.log; to_syslog: yes; timestamp: on }`.
    Then corosync logs to a file and to syslog, with timestamps

  @live @medium @AU-8 @CIS-8.4
  Scenario: Cluster logs carry timestamps on every node
    A log whose lines cannot be placed in time is no audit trail.
    Remediation: keep Pacemaker's default log file and enable corosync's logfile with `timestamp: on`.
    Then on every node the logs "/var/log/corosync/corosync.log, /var/log/pacemaker/pacemaker.log" have timestamped lines

  @live @high @AU-3 @AU-12 @CIS-8.5
  Scenario: A change to the CIB can be traced to the user who made it
    Operators act through sudo; syslog then records who ran which cluster command, and Pacemaker records what changed.
    Remediation: run rsyslog (or journald) on every node so that sudo's auth records are kept, and give operators sudo rules rather than shared accounts.
    When "${operator}" sets the meta attribute "audit-marker" of "${audited_resource}" through sudo
    Then the node's logs name the user, the command and the change
