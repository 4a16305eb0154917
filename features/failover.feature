@failover
Feature: Failover and fencing
  Practice 8 of the seed asks that recovery be tested, not assumed. These
  scenarios inject real faults into real clusters, with fencing enabled: the
  harness's fence device powers off the target's container.

  @live @destructive @critical
  Scenario: A killed node's resource moves and the node is fenced
    A dead node's resources must run elsewhere within the service level, and only after it is fenced.
    Remediation: configure a working fence device for every node and keep stonith-enabled=true.
    When the node running "service" is killed
    Then "service" runs on another node within 30 seconds
    And the killed node was fenced
    When the killed node is started again
    Then the cluster is quorate with every node online within 90 seconds

  @live @destructive @high
  Scenario: A resource that fails its monitor is recovered
    Remediation: give the resource a monitor operation and a migration-threshold that fits the service.
    When "service" fails its monitor
    Then "service" is running again within 30 seconds

  @live @destructive @critical
  Scenario: A node cut off from the others never runs the resource beside them
    no-quorum-policy=ignore without fencing runs the same resource on both sides of a partition.
    Remediation: keep no-quorum-policy=stop and stonith-enabled=true with a working fence device.
    When the node running "service" is cut off from the others
    Then "service" runs on at most one side of the partition for 20 seconds
