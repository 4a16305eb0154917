@failover
Feature: Packet loss on corosync's links
  The scenario of features/failover.feature alone, so that it runs on candidates that differ only in corosync's timeouts.

  @live @destructive @high @SC-5 @CP-10 @CIS-4.1
  Scenario: A cluster rides out packet loss on corosync's links without fencing or failover
    A lossy network is not a failed node: corosync retransmits within its token timeout, and a cluster that fences or moves its resources over a few lost packets turns a glitch into an outage.
    Remediation: keep totem token at pcs's default (3000 ms, plus 650 ms per node above two) or longer, and give corosync a second link (ring1_addr) on another network.
    When 10 % of corosync's packets are dropped on the node running "auto"
    Then for 30 seconds no node is fenced, "auto" stays where it runs and every node stays a member
