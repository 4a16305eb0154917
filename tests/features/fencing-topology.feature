@failover
Feature: A fencing level that fails
  The scenario of features/failover.feature alone, so that it runs on candidates that differ only in their fencing topology.

  @live @destructive @high @SC-24 @CP-10 @CIS-4.1
  Scenario: When a node's first fencing level fails, its next level fences it
    A fence device fails when it is needed most (a dead BMC with the node it sits in): a second level, another device, must then fence the node so that its resources can move.
    Remediation: give every node a fencing-topology with a second level on another device (for example IPMI first, then a switched PDU), and keep both devices enabled.
    When the first fencing level fails for every node
    And corosync is paused on the node running "auto"
    Then "auto" runs on another node within 60 seconds
    And the faulted node was fenced by its next fencing level
