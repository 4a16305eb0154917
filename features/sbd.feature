@configuration
Feature: SBD fencing
  Practice 4 of the seed, for the fencing most SUSE and SAP clusters use: SBD
  resets a node through its watchdog and, with shared disks, through message
  slots every node's sbd watches. It is configured in /etc/sysconfig/sbd
  (/etc/default/sbd on Debian), in the disks' headers and in the CIB; where
  they disagree, a fencing times out before SBD has reset the node, or a node
  is taken for dead while it still runs. A cluster that uses no SBD is not
  judged.

  @static @live @critical @SC-24 @CM-6 @CIS-4.1
  Scenario: SBD can fence, with timeouts that let a fencing finish
    Pacemaker takes a node fenced by SBD for dead once its watchdog must have reset it; if the timeouts disagree, fencing loops, or a node that still runs keeps writing to shared data.
    Remediation: in /etc/sysconfig/sbd keep SBD_PACEMAKER=yes, SBD_WATCHDOG_TIMEOUT of at least 5 and one or three devices in SBD_DEVICE (SBD_STARTMODE=clean is recommended too, so a fenced node does not rejoin by itself); give the devices a msgwait of twice the watchdog timeout (crmsh 5: `crm sbd configure msgwait-timeout=N`); set stonith-timeout to at least msgwait plus a fifth (crmsh 5.1's `crm cluster health sbd --fix` sets it), or with diskless SBD stonith-watchdog-timeout to twice SBD_WATCHDOG_TIMEOUT; and configure a fence device (fence_sbd) or watchdog fencing.
    Then a cluster that uses SBD can fence with it
    And SBD watches Pacemaker with a watchdog timeout of at least 5 seconds
    And SBD names one or three devices
    And with disk-based SBD, msgwait is at least twice the watchdog timeout and the fencing timeout outlasts it by a fifth
    And with diskless SBD, stonith-watchdog-timeout is at least twice SBD_WATCHDOG_TIMEOUT
