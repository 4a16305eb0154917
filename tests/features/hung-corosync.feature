@failover
Feature: A hung corosync
  The scenario of features/failover.feature alone, so that it runs on candidates that differ only in fencing.
  Parameter: failover_seconds = 30 — how long recovery may take (the service level)

  @live @destructive @critical @SC-24 @CP-10 @CIS-4.1
  Scenario: A node whose corosync hangs is fenced and its resource moves
    A hung corosync leaves its node alive to itself and still running its resources while the others lose it: only fencing makes it safe to start them elsewhere.
    Remediation: configure a working fence device for every node and keep stonith-enabled=true, so that a node the others lost is powered off before its resources start elsewhere.
    When corosync is paused on the node running "auto"
    Then "auto" runs on another node within ${failover_seconds} seconds
    And the faulted node was fenced
