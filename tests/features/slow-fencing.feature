@failover
Feature: Slow fencing
  The scenario of features/failover.feature alone, so that it runs on candidates that differ only in their fencing timeouts.

  @live @destructive @high @slow @SC-24 @CP-10 @CIS-4.1
  Scenario: A slow fence device still fences, and the resource moves only after it
    A fence device that takes its time has not fenced until it answers: the resource must wait for it, and a fencing timeout shorter than the device takes turns a slow fencing into one that never succeeds.
    Remediation: set stonith-timeout (or the device's pcmk_reboot_timeout and pcmk_off_timeout) above the time the device takes to power a node off, with margin.
    When fencing takes 10 seconds
    And corosync is paused on the node running "auto"
    Then "auto" runs on another node within 60 seconds, only after its node is fenced
