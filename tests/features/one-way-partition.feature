@failover
Feature: A one-way partition
  The scenario of features/failover.feature alone, so that it runs on candidates that differ only in fencing and quorum.

  @live @destructive @critical @slow @SC-24 @CP-10 @CIS-4.1
  Scenario: A node that hears none of the others never runs the resource beside them
    In a one-way partition the deaf node's messages still reach the others: the cluster must settle which side runs the resource, and never run it on both.
    Remediation: keep no-quorum-policy=stop and stonith-enabled=true with a working fence device, so that the majority fences the node it cannot reach.
    When the node running "auto" hears none of the others
    Then "auto" runs on at most one side of the partition for 40 seconds
