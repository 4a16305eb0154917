@communication
Feature: UDP from outside the cluster, on its own
  The communication feature stops at the first failing step; this proves the UDP check by itself.

  @live @critical
  Scenario: Corosync's ports take no datagrams from outside
    Then from a host outside the cluster no node receives UDP on ports "5405, 5406"
