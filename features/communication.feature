@communication
Feature: Secure communication
  Practice 1 of the seed: encrypt cluster traffic, keep keys secret and
  identical on every node, and keep credentials out of configuration files.

  @static @live @critical @SC-8 @CIS-3.10
  Scenario: Corosync runs on the knet transport
    knet is the only corosync 3 transport that can encrypt and authenticate.
    Remediation: set `transport: knet` in the totem section of corosync.conf.
    Then corosync uses the "knet" transport

  @static @live @critical @SC-8 @SC-13 @CIS-3.10
  Scenario: Cluster traffic is encrypted and authenticated with strong algorithms
    Without crypto_cipher and crypto_hash every CIB update crosses the network in clear.
    Remediation: set `crypto_cipher: aes256` and `crypto_hash: sha256` in the totem section.
    Then the corosync crypto_cipher is one of "aes256, aes192, aes128"
    And the corosync crypto_hash is one of "sha256, sha384, sha512"

  @static @live @high @SC-12 @IA-5 @CIS-3.11
  Scenario: The corosync key is not written into corosync.conf
    A key inline in a world-readable file is a key for everyone.
    Remediation: remove `key:` from corosync.conf and use /etc/corosync/authkey (corosync-keygen).
    Then corosync.conf holds no inline key

  @live @critical @SC-8 @CM-6 @CIS-3.10
  Scenario: The running corosync uses the configured crypto
    A changed corosync.conf only counts once corosync runs with it.
    Remediation: restart corosync on every node after changing crypto settings.
    Then on every node the running crypto_cipher and crypto_hash match corosync.conf
    And the corosync crypto_cipher is one of "aes256, aes192, aes128"

  @live @high @SC-8 @CIS-3.10
  Scenario: knet really encrypts the traffic it sends
    A crypto setting only protects the cluster if what crosses the wire is unreadable; this looks at the packets.
    Remediation: enable crypto_cipher and crypto_hash; check corosync's log for crypto errors.
    Then knet's encrypted packet counters grow on every node within 3 seconds

  @static @live @critical @SC-12 @AC-3 @CIS-3.3
  Scenario: Every node holds the same strong corosync key, readable by root only
    The authkey is the cluster's membership secret: short keys can be guessed and readable keys copied.
    Remediation: generate the key once with corosync-keygen, copy it to every node, `chmod 0400`.
    Then the key "/etc/corosync/authkey" is identical on every node
    And the key "/etc/corosync/authkey" is between 128 and 4096 bytes
    And the file "/etc/corosync/authkey" is owned by "root:root" with mode at most "0400"

  @live @critical @SC-8 @CIS-3.10
  Scenario: Nothing about the cluster crosses the wire in clear text
    A capture on one node while the CIB changes must show no cluster name, node name or CIB content.
    Remediation: enable knet encryption (crypto_cipher and crypto_hash).
    Then no cleartext cluster data crosses the wire while the CIB changes

  @static @live @critical @SC-7 @CIS-4.4
  Scenario: A firewall is loaded on every node
    Corosync, pcsd and pacemaker_remote ports answer anyone who can reach them unless a firewall says otherwise.
    Remediation: place a ruleset in /etc/nftables.conf and enable nftables.service (candidate: add "nftables" to services).
    Then the nftables ruleset is loaded on every node

  @live @destructive @critical @slow @SC-7 @CIS-4.4
  Scenario: Cluster ports answer the cluster's own nodes only
    corosync (5405/udp and the next link's port), pcsd (2224/tcp) and pacemaker_remote (3121/tcp) must not answer other hosts, even on the same network.
    The probe floods corosync's port, which can break a cluster with no firewall: it runs on a cluster of its own.
    Remediation: accept these ports only from the cluster nodes' addresses in the input chain, drop the rest.
    Then from a host outside the cluster no node answers on TCP ports "2224, 3121"
    And from a host outside the cluster no node receives UDP on ports "5405, 5406"
    And the cluster is quorate with every node online

  @live @destructive @critical @IA-3 @SC-8 @CIS-3.10
  Scenario: A node without the key cannot join
    A host that copies corosync.conf and takes a node's address must still be kept out by the key.
    Remediation: enable knet crypto so membership is authenticated by the authkey.
    Then a rogue node with the cluster's corosync.conf but another key cannot join

  @static @live @critical @IA-5 @SC-28 @CIS-3.11
  Scenario: No credentials are hard-coded in the cluster configuration
    Fence device passwords in the CIB are readable by every haclient member and end up in every backup.
    Remediation: use the agent's `password_script`, or `cibsecret set <resource> <parameter>`.
    Then no resource parameter in the CIB holds a plaintext secret
