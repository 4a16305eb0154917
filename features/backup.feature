@backup
Feature: Backup and disaster recovery
  Practice 8 of the seed: back up the cluster configuration, keep backups
  private, and prove they restore, on a cluster built from nothing.

  @live @destructive @critical @CP-9 @CP-10 @CIS-11.3 @CIS-11.5
  Scenario: A cibadmin backup is private and restores the whole configuration
    The backup holds fence credentials and ACLs; a backup nobody restored is a hope, not a plan.
    Remediation: run backups with `umask 077` (e.g. /etc/profile.d or the cron job) and test the restore.
    When the configuration is backed up with "cibadmin --query"
    Then the backup is readable by root only
    When the configuration is erased on every node
    And the backup is restored onto a fresh cluster
    Then the restored configuration equals the original
    And restoring a truncated copy of the backup fails and changes nothing

  @live @destructive @high @CP-9 @CP-10 @CIS-11.3 @CIS-11.5
  Scenario: A crmsh backup is private and restores the whole configuration
    crmsh regenerates the ids of nvpairs and ACL permissions on load; the comparison ignores ids nothing refers to.
    Measured on crmsh 4.4.1: `crm configure load replace` accepts a truncated file (exit 0), so a damaged
    crmsh backup is not refused; keep a cibadmin backup beside it for disaster recovery.
    Remediation: run backups with `umask 077` and restore with `crm configure load replace`.
    When the configuration is backed up with "crm configure save"
    Then the backup is readable by root only
    When the configuration is erased on every node
    And the backup is restored onto a fresh cluster
    Then the restored configuration equals the original
