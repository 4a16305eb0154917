@isolation
Feature: Isolation of the cluster network
  Practice 7 of the seed: keep the cluster's own traffic on a network of its
  own. Nodes get two networks here, the cluster network (corosync links) and
  a public one that carries only the service the cluster protects.
  Parameter: public_service = none — the resource that serves the public network; none when the candidate names none
  Parameter: public_port = 8080 — the TCP port that service answers on

  @live @high @SC-7 @CIS-12.2 @CIS-4.4
  Scenario: The cluster's ports do not answer on the public network
    Whoever reaches pcsd, pacemaker_remote or corosync from the public side can attack the cluster itself, not just its service.
    Remediation: in /etc/nftables.conf accept 2224, 3121 and 5405-5412 from the cluster nodes' addresses only, and the service's port from anywhere; keep PCSD_BIND_ADDR on the cluster address.
    Then from a host on the public network no node answers on TCP ports "2224, 3121"
    And from a host on the public network no node receives UDP on ports "5405"

  @live @medium @SC-7 @CIS-12.2
  Scenario: The protected service answers on the public network
    A firewall that also shuts out the service it protects is soon opened wide by someone in a hurry.
    Remediation: accept the service's port from anywhere in /etc/nftables.conf, and the cluster's own ports from the cluster nodes only.
    Then from a host on the public network "${public_service}" answers on TCP port ${public_port}

  @live @high @SC-7 @CM-7 @CIS-12.2
  Scenario: Cluster daemons listen on the cluster network only
    A daemon bound to every address answers on the public network as soon as a firewall rule slips.
    Remediation: set ring addresses (ring0_addr) to cluster-network addresses, PCSD_BIND_ADDR in /etc/default/pcsd to the node's cluster address, and PCMK_remote_address for pacemaker_remote.
    Then on every node the cluster daemons listen on cluster addresses only
