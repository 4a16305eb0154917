@failover
Feature: Packet loss on corosync's links
  The scenarios of features/failover.feature alone, so that they run on candidates that differ only in corosync's timeouts.

  @live @destructive @high @SC-5 @CP-10 @CIS-4.1
  Scenario: A cluster rides out 10 % packet loss on corosync's links without fencing or failover
    A lossy network is not a failed node: corosync retransmits within its token timeout, and a cluster that fences or moves its resources over a few lost packets turns a glitch into an outage.
    Remediation: on each knet link ping often and wait long before calling it down (`knet_ping_interval: 150`, `knet_ping_timeout: 3000`, `knet_pong_count: 1` in its totem interface section), let the token survive a run of losses (`token_retransmits_before_loss_const: 10`), keep totem token at pcs's default (3000 ms, plus 650 ms per node above two) or longer, and give corosync a second link (ring1_addr) on another network.
    When 10 % of corosync's packets are dropped on the node running "auto"
    Then for 30 seconds no node is fenced, "auto" stays where it runs and every node stays a member

  @live @destructive @high @SC-5 @CP-10 @CIS-4.1
  Scenario: A cluster rides out 30 % packet loss on corosync's links without fencing or failover
    A badly lossy link still carries the cluster when knet's heartbeat and the token are given room: with pcs's defaults, two lost pings in a row take the only link down and the node leaves the membership.
    Remediation: on each knet link ping often and wait long before calling it down (`knet_ping_interval: 150`, `knet_ping_timeout: 3000`, `knet_pong_count: 1` in its totem interface section), let the token survive a run of losses (`token_retransmits_before_loss_const: 10`), keep totem token at pcs's default (3000 ms, plus 650 ms per node above two) or longer, and give corosync a second link (ring1_addr) on another network.
    When 30 % of corosync's packets are dropped on the node running "auto"
    Then for 30 seconds no node is fenced, "auto" stays where it runs and every node stays a member
