@failover
Feature: Fencing that fails
  The scenario of features/failover.feature alone, so that it runs on candidates that differ only in fencing.

  @live @destructive @critical @SC-24 @CP-10 @CIS-4.1
  Scenario: A lost node whose fencing fails never has its resource started elsewhere
    A node the others lost may still run its resources: until a fencing succeeds, starting them elsewhere runs them twice, so Pacemaker must wait, and say that the fencing failed.
    Remediation: keep stonith-enabled=true with a fence device for every node, and watch for failed fencing (crm_mon's Failed Fencing Actions, an alert on the fencing event) so that a broken device is mended before it is needed.
    When every fencing request fails
    And corosync is paused on the node running "auto"
    Then for 45 seconds "auto" runs on no other node while its node is unfenced, and the failed fencing is reported
