@communication
Feature: Probes from outside, several at once on one cluster
  Every scenario here shares one cluster: a probe must not stop the listeners another
  relies on, or a port left without a listener would pass.

  @live @high
  Scenario: First probe of the pacemaker_remote port
    Then from a host outside the cluster no node answers on TCP ports "3121"

  @live @high
  Scenario: Second probe of the pacemaker_remote port
    Then from a host outside the cluster no node answers on TCP ports "3121"

  @live @high
  Scenario: Third probe of the pacemaker_remote port, from the public network
    Then from a host on the public network no node answers on TCP ports "3121"

  @live @high
  Scenario: Fourth probe of the pacemaker_remote port, from the public network
    Then from a host on the public network no node answers on TCP ports "3121"
