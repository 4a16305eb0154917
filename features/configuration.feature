@configuration
Feature: Secure cluster configuration
  Practice 4 of the seed: proper permissions, audited resource agents, and no
  insecure defaults left in place.

  @static @live @critical @AC-3 @CM-5 @CIS-3.3
  Scenario: Cluster configuration files and keys are protected
    Whoever can write corosync.conf or the CIB, or read a key, can join or rewrite the cluster.
    Remediation: chown and chmod the listed files as shown; re-run `pcs cluster sync` if pcs manages them.
    Then the file "/etc/corosync/corosync.conf" is owned by "root:root" with mode at most "0644"
    And the file "/etc/corosync/authkey" is owned by "root:root" with mode at most "0400"
    And the file "/etc/pacemaker/authkey" is owned by "hacluster:haclient" with mode at most "0440"
    And the file "/var/lib/pacemaker/cib/cib.xml" is owned by "hacluster:haclient" with mode at most "0600"

  @live @high @AC-3 @CIS-3.3
  Scenario: The CIB directory is private to the cluster
    The CIB holds resource parameters, sometimes credentials, and its history; other users must not read or change it.
    Remediation: `chown hacluster:haclient /var/lib/pacemaker/cib && chmod 0750 /var/lib/pacemaker/cib`.
    Then the file "/var/lib/pacemaker/cib" is owned by "hacluster:haclient" with mode at most "0750"
    And every file in "/var/lib/pcsd" is owned by "root:root" with mode at most "0600"

  @live @critical @CM-5 @SI-7 @CIS-2.7
  Scenario: Resource agents cannot be replaced by unprivileged users
    An agent writable by others runs their code as root on every failover.
    Remediation: `chown root:root <agent> && chmod 0755 <agent>`; review custom agents before deploying them.
    Then every resource agent the CIB uses exists, is owned by root and is not writable by group or others

  @static @live @critical @SC-24 @CM-6 @CIS-4.1
  Scenario: Fencing is enabled
    Without fencing a hung node can keep writing to shared data while another takes over.
    Remediation: configure a fence device for every node (pcmk_host_list or pcmk_host_map) and set stonith-enabled=true.
    Then the cluster option "stonith-enabled" is "true"
    And every node is the target of an enabled fence device

  @static @live @critical @SC-24 @CM-6 @CIS-4.1
  Scenario: A cluster that loses quorum stops its resources
    no-quorum-policy=ignore lets both halves of a split cluster run the same resources.
    Remediation: set no-quorum-policy to stop (or freeze, or demote).
    Then with at least 3 nodes the cluster option "no-quorum-policy" is not "ignore"

  @static @live @critical @IA-5 @CIS-4.7
  Scenario: The hacluster account has no default password
    `crm cluster init` sets `linux`; guides use `hacluster` and `password`.
    Remediation: `passwd hacluster` with a strong password on every node, or lock the account.
    Then the password of "hacluster", if set, is neither empty nor one of "linux, hacluster, password"

  @static @live @high @SC-7 @SC-8 @CM-7 @CIS-3.10 @CIS-4.4
  Scenario: pcsd listens on cluster addresses only and refuses old TLS
    pcsd can add nodes and change everything; on a public address or with TLS 1.0/1.1 it is an open door.
    Remediation: set PCSD_BIND_ADDR to the node's cluster address and PCSD_SSL_OPTIONS to disable TLS 1.0/1.1 in /etc/default/pcsd.
    Then the pcsd option "PCSD_BIND_ADDR" is set to none of "::, 0.0.0.0"
    And the pcsd option "PCSD_SSL_OPTIONS" contains all of "OP_NO_SSLv2, OP_NO_SSLv3, OP_NO_TLSv1, OP_NO_TLSv1_1"

  @static @live @high @CM-2 @CM-6 @CIS-4.1
  Scenario: Every node holds the same keys and configuration
    Drift between nodes breaks membership or opens one node: a key that differs, a sudoers rule or a firewall on one node only.
    Remediation: copy the files from one node to the others (`pcs cluster sync`, `crm cluster copy`) and reload the firewall everywhere.
    Then the files "/etc/corosync/authkey, /etc/pacemaker/authkey, /etc/corosync/corosync.conf, /etc/sudoers, /etc/sudoers.d/, /etc/nftables.conf" are identical on every node
    And every node loads the same firewall
