@upgrade
Feature: Rolling upgrade
  Before an upgrade operators ask whether the configuration still holds on
  the new version. Pacemaker clusters are upgraded one node at a time, so for
  a while old and new versions run side by side; this is proved here with
  nodes replaced in turn by nodes of the next Debian release.
  Parameter: upgrade_resource = auto — the resource that must keep running; auto takes the first the candidate runs that can move

  @live @destructive @high @slow @SI-2 @CP-10 @CIS-7.4
  Scenario: A rolling upgrade to the next release keeps the service running
    A mixed-version cluster that loses quorum or its resources turns a planned upgrade into an outage.
    Remediation: upgrade one node at a time with the cluster stopped on that node only, keep the CIB free of what the new version removed (see `pcmk-comply compare`), and upgrade within the versions Pacemaker supports for rolling upgrades.
    Then replacing each node in turn by a trixie node keeps the cluster quorate and "${upgrade_resource}" running
