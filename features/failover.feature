@failover
Feature: Failover and fencing
  Practice 8 of the seed asks that recovery be tested, not assumed. These
  scenarios inject real faults into real clusters, with fencing enabled: the
  harness's fence device powers off the target's container.
  Parameter: failover_resource = auto — the resource the faults aim at; auto takes the first the candidate runs that can move
  Parameter: failover_seconds = 30 — how long recovery may take (the service level)

  @live @high @CM-6 @CP-10 @CIS-4.1
  Scenario: Every configured resource runs
    A resource the cluster silently dropped or cannot start protects nothing, and fails over nowhere.
    Remediation: use resource classes and agents the installed Pacemaker supports (`crm_resource --list-standards`), and fix what `crm_mon --one-shot` shows as stopped or failed.
    Then every resource in the candidate's configuration is active within 60 seconds

  @live @destructive @critical @CP-10 @SC-24 @CIS-4.1
  Scenario: A killed node's resource moves and the node is fenced
    A dead node's resources must run elsewhere within the service level, and only after it is fenced.
    Remediation: configure a working fence device for every node and keep stonith-enabled=true.
    When the node running "${failover_resource}" is killed
    Then "${failover_resource}" runs on another node within ${failover_seconds} seconds
    And the killed node was fenced
    When the killed node is started again
    Then the cluster is quorate with every node online within 90 seconds

  @live @destructive @high @CP-10 @CIS-4.1
  Scenario: A resource that fails its monitor is recovered
    A failed service that nobody restarts is an outage the cluster was built to prevent.
    Remediation: give the resource a monitor operation and a migration-threshold that fits the service.
    When "${failover_resource}" fails its monitor
    Then "${failover_resource}" is running again within ${failover_seconds} seconds

  @live @destructive @critical @slow @SC-24 @CP-10 @CIS-4.1
  Scenario: A node cut off from the others never runs the resource beside them
    no-quorum-policy=ignore without fencing runs the same resource on both sides of a partition.
    Remediation: keep no-quorum-policy=stop and stonith-enabled=true with a working fence device.
    When the node running "${failover_resource}" is cut off from the others
    Then "${failover_resource}" runs on at most one side of the partition for 40 seconds

  @live @destructive @critical @slow @SC-24 @CP-10 @CIS-4.1
  Scenario: A node that hears none of the others never runs the resource beside them
    In a one-way partition the deaf node's messages still reach the others: the cluster must settle which side runs the resource, and never run it on both.
    Remediation: keep no-quorum-policy=stop and stonith-enabled=true with a working fence device, so that the majority fences the node it cannot reach.
    When the node running "${failover_resource}" hears none of the others
    Then "${failover_resource}" runs on at most one side of the partition for 40 seconds

  @live @destructive @critical @SC-24 @CP-10 @CIS-4.1
  Scenario: A lost node whose fencing fails never has its resource started elsewhere
    A node the others lost may still run its resources: until a fencing succeeds, starting them elsewhere runs them twice, so Pacemaker must wait, and say that the fencing failed.
    Remediation: keep stonith-enabled=true with a fence device for every node, and watch for failed fencing (crm_mon's Failed Fencing Actions, an alert on the fencing event) so that a broken device is mended before it is needed.
    When every fencing request fails
    And corosync is paused on the node running "${failover_resource}"
    Then for 45 seconds "${failover_resource}" runs on no other node while its node is unfenced, and the failed fencing is reported

  @live @destructive @high @slow @SC-24 @CP-10 @CIS-4.1
  Scenario: A slow fence device still fences, and the resource moves only after it
    A fence device that takes its time has not fenced until it answers: the resource must wait for it, and a fencing timeout shorter than the device takes turns a slow fencing into one that never succeeds.
    Remediation: set stonith-timeout (or the device's pcmk_reboot_timeout and pcmk_off_timeout) above the time the device takes to power a node off, with margin.
    When fencing takes 10 seconds
    And corosync is paused on the node running "${failover_resource}"
    Then "${failover_resource}" runs on another node within 60 seconds, only after its node is fenced

  @live @destructive @high @SC-24 @CP-10 @CIS-4.1
  Scenario: When a node's first fencing level fails, its next level fences it
    A fence device fails when it is needed most (a dead BMC with the node it sits in): a second level, another device, must then fence the node so that its resources can move.
    Remediation: give every node a fencing-topology with a second level on another device (for example IPMI first, then a switched PDU), and keep both devices enabled.
    When the first fencing level fails for every node
    And corosync is paused on the node running "${failover_resource}"
    Then "${failover_resource}" runs on another node within ${failover_seconds} seconds
    And the faulted node was fenced by its next fencing level

  @live @destructive @high @SC-24 @CP-10 @CIS-4.1
  Scenario: Corosync crashing on a node does not take the service down
    A crashed membership layer must end in fencing or recovery, never in a service that silently stops.
    Remediation: keep fencing working, so that a node whose corosync died is powered off before its resources move.
    When corosync is killed on the node running "${failover_resource}"
    Then "${failover_resource}" runs on some node within ${failover_seconds} seconds
    And the node where it was killed is fenced or back in the cluster within 60 seconds

  @live @destructive @high @SC-24 @CP-10 @CIS-4.1
  Scenario: Pacemakerd crashing on a node does not take the service down
    A crashed Pacemaker must be noticed and the node fenced or recovered, while the service keeps running elsewhere.
    Remediation: run pacemaker under a supervisor that restarts it (systemd Restart=on-failure) and keep fencing working.
    When pacemakerd is killed on the node running "${failover_resource}"
    Then "${failover_resource}" runs on some node within ${failover_seconds} seconds
    And the node where it was killed is fenced or back in the cluster within 60 seconds

  @live @destructive @critical @SC-24 @CIS-4.1
  Scenario: A node that loses quorum stops its resources
    Two of three nodes gone: the last one must not carry on alone.
    Remediation: set no-quorum-policy=stop (never ignore on three or more nodes).
    When every node but the one running "${failover_resource}" is killed
    Then "${failover_resource}" stops on the remaining node within ${failover_seconds} seconds

  @live @destructive @critical @SC-24 @CP-10 @CIS-4.1
  Scenario: A node whose corosync hangs is fenced and its resource moves
    A hung corosync leaves its node alive to itself and still running its resources while the others lose it: only fencing makes it safe to start them elsewhere.
    Remediation: configure a working fence device for every node and keep stonith-enabled=true, so that a node the others lost is powered off before its resources start elsewhere.
    When corosync is paused on the node running "${failover_resource}"
    Then "${failover_resource}" runs on another node within ${failover_seconds} seconds
    And the faulted node was fenced

  @live @destructive @high @SC-5 @CP-10 @CIS-4.1
  Scenario: A cluster rides out 10 % packet loss on corosync's links without fencing or failover
    A lossy network is not a failed node: corosync retransmits within its token timeout, and a cluster that fences or moves its resources over a few lost packets turns a glitch into an outage.
    Remediation: on each knet link ping often and wait long before calling it down (`knet_ping_interval: 150`, `knet_ping_timeout: 3000`, `knet_pong_count: 1` in its totem interface section), let the token survive a run of losses (`token_retransmits_before_loss_const: 10`), keep totem token at pcs's default (3000 ms, plus 650 ms per node above two) or longer, and give corosync a second link (ring1_addr) on another network.
    When 10 % of corosync's packets are dropped on the node running "${failover_resource}"
    Then for 30 seconds no node is fenced, "${failover_resource}" stays where it runs and every node stays a member

  @live @destructive @high @SC-5 @CP-10 @CIS-4.1
  Scenario: A cluster rides out 30 % packet loss on corosync's links without fencing or failover
    A badly lossy link still carries the cluster when knet's heartbeat and the token are given room: with pcs's defaults, two lost pings in a row take the only link down and the node leaves the membership.
    Remediation: on each knet link ping often and wait long before calling it down (`knet_ping_interval: 150`, `knet_ping_timeout: 3000`, `knet_pong_count: 1` in its totem interface section), let the token survive a run of losses (`token_retransmits_before_loss_const: 10`), keep totem token at pcs's default (3000 ms, plus 650 ms per node above two) or longer, and give corosync a second link (ring1_addr) on another network.
    When 30 % of corosync's packets are dropped on the node running "${failover_resource}"
    Then for 30 seconds no node is fenced, "${failover_resource}" stays where it runs and every node stays a member
