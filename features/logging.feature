@logging
Feature: Central logs and alerts
  Practice 9 of the seed: collect every node's logs in one place and raise an
  alert when the cluster acts. A log collector (rsyslog) stands in for the
  central log server; it is reachable as `loghost` on the cluster network.
  Parameter: log_host = auto — the central log server syslog must forward to; auto takes any the candidate forwards to (the collector answers to its name)
  Parameter: failover_resource = auto — the resource whose failover raises the alert; auto takes the first the candidate runs that can move

  @static @live @medium @AU-6 @AU-9 @CIS-8.9
  Scenario: Syslog is forwarded to the central log server
    Logs kept only on the node that failed, or on the node an intruder controls, are lost when they are needed.
    Remediation: add /etc/rsyslog.d/90-central.conf with `*.* action(type="omfwd" target="loghost" port="514" protocol="tcp" queue.type="LinkedList" queue.filename="central" action.resumeRetryCount="-1")`.
    Then syslog on every node is forwarded to "${log_host}"

  @live @high @destructive @AU-6 @AU-9 @CIS-8.9
  Scenario: Every node's cluster logs reach the central log server
    Forwarding that is configured but never delivers is found only after an incident, when the logs are missing.
    Remediation: run rsyslog on every node, log corosync to syslog (`to_syslog: yes`), and forward with a queued omfwd action so lines written while the server is away are sent later.
    Given a central log collector on the cluster network
    Then every node's corosync and pacemaker logs arrive at the collector within 30 seconds

  @live @high @destructive @SI-4 @CIS-13.1
  Scenario: A failover raises an alert at the central log server
    A failover nobody hears about hides the fault that caused it until the next one takes the service down.
    Remediation: configure an alert agent in the CIB (`<alerts><alert id="syslog" path="/usr/local/lib/pcmk-alerts/alert_syslog.sh"/></alerts>`) that logs kind, node, resource and task with `logger -t pcmk-alert`, and forward syslog centrally.
    Given a central log collector on the cluster network
    When the node running "${failover_resource}" is killed
    Then an alert tagged "pcmk-alert" about "${failover_resource}" starting on its new node arrives at the collector within 40 seconds
